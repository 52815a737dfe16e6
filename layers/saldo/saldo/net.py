"""Guards for the two places user input reaches the network and the file system.

Webhook URLs (SSRF): `check_webhook_url()` when a URL is registered (syntax only: https, no credentials,
no obviously internal host names) and `resolve_webhook_target()` at send time: the host name is resolved
then and every address it resolves to must be public; the caller connects to those pinned addresses
(`open_pinned_connection()`), so a DNS answer that changes between check and connect (rebinding) cannot
redirect the request. Locally (`settings().local`) http and private addresses are allowed so tests can
run receivers on 127.0.0.1; cloud metadata addresses are refused everywhere.

File names (path traversal, header injection): `safe_filename()` turns any string into one safe file
name, and `format_filename()` fills a user's name pattern (`"{company}_{period}.pdf"`) with plain
`{field}` placeholders only, so a pattern can neither read attributes nor build a path.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from saldo.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

#: Instance metadata and similar endpoints of cloud providers; refused even for the local stack.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS VPC DNS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)

#: Host names that always mean "this machine" or a metadata service, refused before any DNS lookup.
_INTERNAL_NAMES = re.compile(
    r"^(localhost|.*\.localhost|.*\.local|.*\.internal|instance-data|metadata)$", re.I
)

# Hosts made of numbers alone in any base: not a canonical dotted quad, yet resolvers take them as one.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)
# Metadata services' names, refused everywhere (the local stack too).
_METADATA_NAMES = re.compile(
    r"^(metadata|metadata\.google\.internal|instance-data(\..*)?|metadata\.azure\.com)$", re.I
)

# Prefixes that embed an IPv4 address in an IPv6 one and are routed to it.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class UnsafeUrl(Unprocessable):
    """A URL the service will not call."""


@dataclass(frozen=True)
class WebhookPolicy:
    allow_http: bool = False
    allow_private: bool = False

    @classmethod
    def for_environment(cls) -> WebhookPolicy:
        from saldo.config import settings

        local = settings().local
        return cls(allow_http=local, allow_private=local)


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]  # every address the host resolved to, all checked


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a webhook may not go to this address, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped IPv6 address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(inner, allow_private=allow_private)
            return f"{problem} (embedded in {ip})" if problem else None
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "the unspecified address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a non-public address"
    return None


def check_webhook_url(url: str, policy: WebhookPolicy | None = None) -> tuple[str, str, int]:
    """Syntax checks for a webhook URL; returns (scheme, host, port). DNS is checked at send time."""
    policy = policy or WebhookPolicy.for_environment()
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"A webhook URL must be a string of at most {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UnsafeUrl("A webhook URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Invalid webhook URL: {exc}") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if scheme not in allowed:
        raise UnsafeUrl("A webhook URL must use https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("A webhook URL must not contain credentials; use the webhook's authConfig")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("A webhook URL needs a host name")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and _NUMERIC_HOST.match(host):
        # 2852039166, 0xA9FEA9FE, 0251.0376.0251.0376, 127.1: resolvers read these as addresses
        raise UnsafeUrl("A webhook URL must write an IPv4 address as four decimal numbers, or use a name")
    if literal is None and _METADATA_NAMES.match(host):
        raise UnsafeUrl(f"A webhook URL must not point to the internal metadata service {host}")
    if literal is not None:
        problem = address_problem(literal, allow_private=policy.allow_private)
        if problem:
            raise UnsafeUrl(f"A webhook URL must not point to {problem}")
    elif not policy.allow_private and (_INTERNAL_NAMES.match(host) or "." not in host):
        raise UnsafeUrl(f"A webhook URL must not point to the internal host {host}")
    if port == 0:
        raise UnsafeUrl("A webhook URL must not use port 0")
    return scheme, host, port or (443 if scheme == "https" else 80)


Resolver = Callable[[str, int], list[str]]


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_webhook_target(
    url: str, policy: WebhookPolicy | None = None, resolver: Resolver | None = None
) -> WebhookTarget:
    """Check the URL and resolve its host now; refuse it if any address is not allowed."""
    policy = policy or WebhookPolicy.for_environment()
    scheme, host, port = check_webhook_url(url, policy)
    try:
        raw = (resolver or _system_resolver)(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The webhook host {host} cannot be resolved: {exc}") from None
    addresses: list[str] = []
    for text in raw:
        if "%" in text:
            raise UnsafeUrl(f"The webhook host {host} resolves to a scoped IPv6 address")
        ip = ipaddress.ip_address(text)
        problem = address_problem(ip, allow_private=policy.allow_private)
        if problem:
            raise UnsafeUrl(f"The webhook host {host} resolves to {problem}")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise UnsafeUrl(f"The webhook host {host} does not resolve")
    return WebhookTarget(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: WebhookTarget, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._pinned = target.addresses
        self._ssl_context = context

    def connect(self) -> None:
        sock = _connect_any(self._pinned, self.port, self.timeout)
        self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._pinned = target.addresses

    def connect(self) -> None:
        self.sock = _connect_any(self._pinned, self.port, self.timeout)


def _connect_any(addresses: tuple[str, ...], port: int, timeout: Any) -> socket.socket:
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise last or OSError("no address to connect to")


def open_pinned_connection(target: WebhookTarget, timeout: float = 10.0) -> http.client.HTTPConnection:
    """An http.client connection to the checked addresses (TLS verified against the host name).

    Redirects are not followed by http.client; a caller that follows one must check the new URL again.
    """
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target, timeout, ssl.create_default_context())
    return _PinnedHTTPConnection(target, timeout)


# ---------------------------------------------------------------------------------------------- file names

MAX_FILENAME_BYTES = 200
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)
_UNSAFE_CHARS = re.compile(r'[/\\<>:"|?*]')
_SPEC = re.compile(r"^[^{}!]{0,12}$")


def safe_filename(name: str, *, default: str = "file", max_bytes: int = MAX_FILENAME_BYTES) -> str:
    """One file name (never a path): no separators, no `..`, no control characters, bounded length.

    Letters of any script are kept (`Årsrapport Ærø.pdf` stays readable); the extension survives
    truncation when it is short.
    """
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(
        " " if unicodedata.category(c) in ("Zs", "Zl", "Zp") or c in "\t\n\r" else c
        for c in text
        if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn") or c in "\t\n\r"
    )
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if _WINDOWS_RESERVED.match(text):
        text = f"_{text}"
    text = _truncate(text, max_bytes).strip(" .")
    return text or default


def _truncate(text: str, max_bytes: int) -> str:
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    stem, dot, ext = text.rpartition(".")
    suffix = f".{ext}" if dot and stem and 0 < len(ext.encode("utf-8")) <= 16 else ""
    base = stem if suffix else text
    budget = max_bytes - len(suffix.encode("utf-8"))
    out = base.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(" .")
    return out + suffix


def format_filename(
    pattern: str, fields: Mapping[str, Any], *, default: str = "file", max_bytes: int = MAX_FILENAME_BYTES
) -> str:
    """Fill a user's file name pattern with plain `{name}` fields, then `safe_filename()` the result.

    Attribute and index access (`{a.b}`, `{a[0]}`), conversions (`{a!r}`) and nested or unknown
    fields are refused with a 422, so a pattern cannot reach anything but the values given.
    """
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise Unprocessable(f"Invalid file name pattern: {exc}") from None
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if not field.isidentifier():
            raise Unprocessable(f"Invalid field '{{{field}}}' in file name pattern: use plain names")
        if (
            conversion
            or not _SPEC.match(spec or "")
            or any(int(n) > 64 for n in re.findall(r"\d+", spec or ""))
        ):
            raise Unprocessable(
                f"Invalid field '{{{field}}}' in file name pattern: no conversions or wide specs"
            )
        if field not in fields:
            known = ", ".join(sorted(fields))
            raise Unprocessable(f"Unknown field '{{{field}}}' in file name pattern; known: {known}")
        try:
            value = format(fields[field], spec or "")
        except (ValueError, TypeError) as exc:
            raise Unprocessable(f"Invalid format for '{{{field}}}' in file name pattern: {exc}") from None
        out.append(safe_filename(value, default="_", max_bytes=max_bytes))
    return safe_filename("".join(out), default=default, max_bytes=max_bytes)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition value (RFC 6266) with an ASCII fallback and the UTF-8 name."""
    from urllib.parse import quote

    name = safe_filename(filename)
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace('"', "_") or "file"
    )
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
