"""Webhook URL guard (SSRF) and file name helpers."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from saldo.errors import Unprocessable
from saldo.net import (
    UnsafeUrl,
    WebhookPolicy,
    address_problem,
    check_webhook_url,
    content_disposition,
    format_filename,
    open_pinned_connection,
    resolve_webhook_target,
    safe_filename,
)

STRICT = WebhookPolicy()
LOCAL = WebhookPolicy(allow_http=True, allow_private=True)


def fixed(*addresses: str):
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


# ------------------------------------------------------------------ addresses
REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # metadata
    "169.254.170.2",  # ECS task metadata
    "169.254.1.1",  # link-local
    "100.64.0.1",  # carrier-grade NAT
    "100.100.100.200",  # Alibaba metadata
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.0.192",
    "198.18.0.1",  # benchmarking
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:db8::1",  # documentation
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "185.199.108.153", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address):
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "224.0.0.1"],
)
def test_metadata_and_multicast_are_refused_even_locally(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.5", "::ffff:127.0.0.1"])
def test_local_stack_may_call_private_receivers(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=True) is None


# ------------------------------------------------------------------ URL syntax
@pytest.mark.parametrize(
    "url, words",
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("file:///etc/passwd", "https"),
        ("gopher://hooks.example.com/", "https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com@169.254.169.254/", "credentials"),
        ("https:///path", "host"),
        ("https://localhost/x", "internal"),
        ("https://api.localhost/x", "internal"),
        ("https://metadata.google.internal/computeMetadata/v1/", "internal"),
        ("https://metadata/latest", "internal"),
        ("https://printer.local/", "internal"),
        ("https://intranet/", "internal"),
        ("https://127.0.0.1/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://[::ffff:7f00:1]/", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://hooks.example.com:0/", "port 0"),
        ("https://hooks.example.com:99999/", "Invalid"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "control"),
        ("https://" + "a" * 3000 + ".com/", "at most"),
    ],
)
def test_bad_webhook_urls_are_refused_with_a_reason(url, words):
    with pytest.raises(UnsafeUrl) as err:
        check_webhook_url(url, STRICT)
    assert words.lower() in err.value.message.lower()
    assert err.value.status == 422


def test_good_webhook_url_passes_the_syntax_check():
    assert check_webhook_url("https://hooks.example.com/saldo?x=1", STRICT) == (
        "https",
        "hooks.example.com",
        443,
    )
    assert check_webhook_url("https://Hooks.Example.com.:8443/p", STRICT) == (
        "https",
        "hooks.example.com",
        8443,
    )


def test_local_policy_allows_http_and_loopback():
    assert check_webhook_url("http://127.0.0.1:8080/hook", LOCAL) == ("http", "127.0.0.1", 8080)
    assert check_webhook_url("http://localhost:8080/hook", LOCAL)[1] == "localhost"
    with pytest.raises(UnsafeUrl):
        check_webhook_url("http://169.254.169.254/", LOCAL)


def test_policy_follows_the_environment(monkeypatch):
    from saldo.adapters.clients import reset

    monkeypatch.setenv("SALDO_LOCAL", "1")
    reset()
    assert WebhookPolicy.for_environment() == LOCAL
    monkeypatch.setenv("SALDO_LOCAL", "0")
    reset()
    assert WebhookPolicy.for_environment() == STRICT
    reset()


# ------------------------------------------------------------------ DNS at send time
def test_dns_is_resolved_at_send_time_and_every_address_checked():
    resolver = fixed("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    target = resolve_webhook_target("https://hooks.example.com/x", STRICT, resolver)
    assert target.addresses == ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert (target.host, target.port) == ("hooks.example.com", 443)
    assert resolver.calls == [("hooks.example.com", 443)]


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.7"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["93.184.215.14", "169.254.169.254"],  # one bad record among good ones
        ["::ffff:127.0.0.1"],
        ["fd00:ec2::254"],
        ["fe80::1%eth0"],
    ],
)
def test_a_name_resolving_to_an_internal_address_is_refused(answers):
    with pytest.raises(UnsafeUrl) as err:
        resolve_webhook_target("https://rebind.example.com/x", STRICT, fixed(*answers))
    assert "rebind.example.com" in err.value.message


def test_unresolvable_host_is_refused():
    def fails(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeUrl, match="cannot be resolved"):
        resolve_webhook_target("https://nowhere.example.com/", STRICT, fails)
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        resolve_webhook_target("https://nowhere.example.com/", STRICT, fixed())


def test_inet_aton_spellings_are_refused_before_any_lookup():
    # Not IP literals to ipaddress, but the system resolver reads them as 127.0.0.1 and 169.254.169.254.
    for url in (
        "https://0x7f.0.0.1/",
        "https://2130706433/",
        "https://0251.0376.0251.0376/",
        "https://127.1/",
    ):
        with pytest.raises(UnsafeUrl, match="four decimal numbers"):
            resolve_webhook_target(url, STRICT)


def test_pinned_connection_goes_to_the_checked_address_not_a_new_lookup():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.headers["Host"])
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        # The name does not exist in DNS: the connection can only succeed through the pinned address.
        target = resolve_webhook_target(f"http://receiver.invalid:{port}/hook", LOCAL, fixed("127.0.0.1"))
        conn = open_pinned_connection(target, timeout=5)
        conn.request("POST", "/hook", body=b"{}", headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 204
        conn.close()
    finally:
        server.server_close()
    assert hits == [f"receiver.invalid:{port}"]


# ------------------------------------------------------------------ file names
@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\windows\\system32",
        "/absolute/path.pdf",
        "..",
        ".",
        "a/../../b",
        "report\x00.pdf",
        "line\nbreak\r.pdf",
        "tab\there",
        "\u202egnp.exe",  # right-to-left override
        "zero\u200bwidth",
        "con",
        "NUL.txt",
        "COM1",
        'a:b*c?d<e>f|g"h',
        "",
        "   ",
        "...hidden",
        "x" * 500 + ".pdf",
    ],
)
def test_safe_filename_is_one_harmless_name(name):
    out = safe_filename(name)
    assert out
    assert "/" not in out and "\\" not in out
    assert ".." not in out
    assert not out.startswith(".") and not out.endswith((".", " "))
    assert all(ord(c) >= 0x20 and c not in "\u202e\u200b\x7f" for c in out)
    assert not any(c in out for c in '<>:"|?*')
    assert len(out.encode("utf-8")) <= 200
    assert out.split(".")[0].upper() not in {"CON", "NUL", "COM1", "PRN", "AUX"}


def test_safe_filename_keeps_readable_names():
    assert safe_filename("Årsrapport Ærø AS 2025.pdf") == "Årsrapport Ærø AS 2025.pdf"
    assert safe_filename("  Balanse   31.12.2025.xlsx ") == "Balanse 31.12.2025.xlsx"
    assert safe_filename("") == "file"
    assert safe_filename("..", default="report") == "report"


def test_safe_filename_truncates_by_bytes_and_keeps_the_extension():
    out = safe_filename("ø" * 300 + ".pdf", max_bytes=50)
    assert out.endswith(".pdf")
    assert len(out.encode("utf-8")) <= 50
    assert out == "ø" * 23 + ".pdf"


def test_format_filename_fills_plain_fields_safely():
    fields = {"company": "../Fjord AS", "period": "2025-12", "n": 7}
    assert format_filename("{company}_{period}_{n:03d}.pdf", fields) == "_Fjord AS_2025-12_007.pdf"
    assert format_filename("{company}/{period}.pdf", fields) == "_Fjord AS_2025-12.pdf"


@pytest.mark.parametrize(
    "pattern",
    [
        "{company.__class__}",
        "{company.__init__.__globals__}",
        "{company[0]}",
        "{company!r}",
        "{0}",
        "{}",
        "{unknown}",
        "{company:>100000000}",
        "{company:{period}}",
        "{company",
    ],
)
def test_format_filename_refuses_anything_but_plain_fields(pattern):
    with pytest.raises(Unprocessable):
        format_filename(pattern, {"company": "Fjord AS", "period": "2025"})


def test_content_disposition_is_ascii_safe_and_keeps_the_utf8_name():
    value = content_disposition('Årsrapport "Ærø".pdf\r\nX-Evil: 1')
    assert "\r" not in value and "\n" not in value
    assert value.startswith('attachment; filename="Arsrapport _r_.pdf X-Evil_ 1"; ')
    assert "filename*=UTF-8''%C3%85rsrapport%20_%C3%86r%C3%B8_.pdf%20X-Evil_%201" in value
    ascii_part = value.split("filename*=")[0]
    assert ascii_part.isascii()
