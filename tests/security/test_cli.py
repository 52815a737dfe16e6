"""`saldo admin ...` against moto: in-process (--table, --stack) and through a moto server (--local)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from saldo_tools import cli
from saldo_tools.localstack.template import load_template
from tests.conftest import ROOT

TABLE = "saldo-local"


def run(capsys: Any, *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()  # drop what earlier steps (handler logs) printed
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


def authorize(stack: Any, headers: dict[str, str], **event: Any) -> dict[str, Any]:
    """What the authorizer Lambda hands to the routes for these headers."""
    result = stack.runtime.invoke("AuthorizerFunction", {"type": "REQUEST", "headers": headers, **event})
    assert result["isAuthorized"] is True
    return result["context"]


def client_accounts(org_id: str, *names: str) -> list[int]:
    from saldo.adapters.client_accounts import ClientAccountRepo
    from saldo.ledger.models import ClientAccountIn

    regnos = iter(["923609016", "974760673", "910747711"])
    repo = ClientAccountRepo(TABLE)
    return [repo.create(org_id, ClientAccountIn(name=n, registration_number=next(regnos))).id for n in names]


def test_key_lifecycle_with_table(stack, capsys):
    code, org, _ = run(capsys, "admin", "create-org", "--name", "Fjord Revisjon AS", "--table", TABLE)
    assert code == 0
    assert org["name"] == "Fjord Revisjon AS" and org["org_id"].startswith("org_")
    first, second = client_accounts(org["org_id"], "Fjord AS", "Vik AS")
    grant = f"{second},{first},{second}"
    expected = f"{first},{second}"

    code, key, note = run(
        capsys, "admin", "create-key", "--org", org["org_id"], "--client-accounts", grant,
        "--label", "auditor", "--table", TABLE,
    )  # fmt: skip
    assert code == 0
    assert key["key"].startswith(f"sld_{key['key_id']}_")
    assert key["client_accounts"] == expected and key["label"] == "auditor"
    assert "shown once" in note

    ctx = authorize(stack, {"authorization": f"Bearer {key['key']}"})
    assert ctx == {
        "authenticated": "true",
        "org_id": org["org_id"],
        "key_id": key["key_id"],
        "client_accounts": expected,
    }
    batch = {"routeKey": "GET /apps/reporting/batches"}
    assert authorize(stack, {"lasso-api-key": key["key"]}, **batch)["org_id"] == org["org_id"]

    code, listing, _ = run(capsys, "admin", "list-keys", "--org", org["org_id"], "--table", TABLE)
    assert code == 0
    assert [(k["key_id"], k["label"], k["client_accounts"]) for k in listing["keys"]] == [
        (key["key_id"], "auditor", expected)
    ]
    assert key["key"] not in json.dumps(listing)

    code, revoked, note = run(
        capsys, "admin", "revoke-key", "--org", org["org_id"], "--key-id", key["key_id"], "--table", TABLE
    )
    assert (code, revoked["revoked"]) == (0, True)
    assert "300 s" in note
    assert authorize(stack, {"authorization": f"Bearer {key['key']}"}) == {"authenticated": "false"}
    code, listing, _ = run(capsys, "admin", "list-keys", "--org", org["org_id"], "--table", TABLE)
    assert listing["keys"] == []


def test_the_key_is_stored_only_as_its_hash(stack, capsys):
    from saldo.tenancy import hash_key

    _, org, _ = run(capsys, "admin", "create-org", "--name", "Hash AS", "--table", TABLE)
    _, key, _ = run(capsys, "admin", "create-key", "--org", org["org_id"], "--table", TABLE)
    items = stack.client("dynamodb").scan(TableName=TABLE)["Items"]
    dump = json.dumps(items)
    secret = key["key"].split("_", 2)[2]
    assert key["key"] not in dump and secret not in dump
    lookup = [i for i in items if i["pk"]["S"] == f"APIKEY#{hash_key(key['key'])}"]
    assert len(lookup) == 1 and lookup[0]["org_id"]["S"] == org["org_id"]


def test_a_second_key_for_the_same_org_gets_a_new_secret(stack, capsys):
    _, org, _ = run(capsys, "admin", "create-org", "--name", "Two Keys AS", "--table", TABLE)
    _, first, _ = run(capsys, "admin", "create-key", "--org", org["org_id"], "--table", TABLE)
    _, second, _ = run(capsys, "admin", "create-key", "--org", org["org_id"], "--table", TABLE)
    assert first["key"] != second["key"] and first["key_id"] != second["key_id"]
    assert first["client_accounts"] == "*"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["create-key", "--org", "org_missing"], "does not exist"),
        (["list-keys", "--org", "org_missing"], "does not exist"),
        (["revoke-key", "--org", "org_missing", "--key-id", "abc"], "not found"),
    ],
)
def test_errors_are_json_on_stderr_with_exit_code_1(stack, capsys, argv, message):
    code, out, err = run(capsys, "admin", *argv, "--table", TABLE)
    assert code == 1 and out is None
    assert message in json.loads(err)["error"]


def test_a_grant_must_name_client_accounts_of_the_organization(stack, capsys):
    _, org, _ = run(capsys, "admin", "create-org", "--name", "Grant AS", "--table", TABLE)
    _, other, _ = run(capsys, "admin", "create-org", "--name", "Other AS", "--table", TABLE)
    (theirs,) = client_accounts(other["org_id"], "Not Yours AS")
    code, out, err = run(
        capsys,
        "admin",
        "create-key",
        "--org",
        org["org_id"],
        "--client-accounts",
        f"{theirs},999",
        "--table",
        TABLE,
    )
    assert (code, out) == (1, None)
    assert f"Client account(s) {theirs}, 999 do not exist in organization {org['org_id']}" in err
    _, listing, _ = run(capsys, "admin", "list-keys", "--org", org["org_id"], "--table", TABLE)
    assert listing["keys"] == []


def test_duplicate_org_id_is_refused(stack, capsys):
    assert run(capsys, "admin", "create-org", "--name", "A", "--org-id", "org_x", "--table", TABLE)[0] == 0
    code, _, err = run(capsys, "admin", "create-org", "--name", "B", "--org-id", "org_x", "--table", TABLE)
    assert code == 1 and "already exists" in err


@pytest.mark.parametrize("value", ["abc", "1,x", "", ",", "0", "-3"])
def test_bad_client_account_lists_are_usage_errors(capsys, value):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["admin", "create-key", "--org", "o", "--client-accounts", value, "--table", TABLE])
    assert exit_.value.code == 2
    assert "client account" in capsys.readouterr().err


def test_a_target_is_required(capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    code, _, err = run(capsys, "admin", "list-keys", "--org", "o")
    assert code == 1 and "--local" in err


def test_stack_name_resolves_the_table(stack, capsys):
    cfn = stack.client("cloudformation")
    table = load_template(ROOT / "template.yaml")["Resources"]["SaldoTable"]["Properties"]
    resource = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": "saldo-dev",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                a for a in table["AttributeDefinitions"] if a["AttributeName"] in ("pk", "sk")
            ],
            "KeySchema": table["KeySchema"],
        },
    }
    cfn.create_stack(StackName="saldo-dev", TemplateBody=json.dumps({"Resources": {"SaldoTable": resource}}))
    code, org, _ = run(capsys, "admin", "create-org", "--name", "Deployed AS", "--stack", "saldo-dev")
    assert code == 0
    item = stack.client("dynamodb").get_item(
        TableName="saldo-dev", Key={"pk": {"S": f"ORG#{org['org_id']}"}, "sk": {"S": "ORG"}}
    )
    assert item["Item"]["name"]["S"] == "Deployed AS"
    code, _, err = run(capsys, "admin", "list-keys", "--org", "o", "--stack", "no-such-stack")
    assert code == 1 and "no-such-stack" in err


def test_environment_is_restored_after_a_command(stack, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    before = dict(os.environ)
    run(capsys, "admin", "create-org", "--name", "Env AS", "--table", TABLE, "--region", "eu-north-1")
    assert dict(os.environ) == before


@pytest.fixture
def moto_server():
    from moto.server import ThreadedMotoServer

    from saldo_tools.localstack.stack import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_console_script_against_the_local_stack_endpoint(moto_server):
    import boto3

    table = load_template(ROOT / "template.yaml")["Resources"]["SaldoTable"]["Properties"]
    boto3.client(
        "dynamodb", endpoint_url=moto_server, region_name="eu-north-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    ).create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=table["AttributeDefinitions"], KeySchema=table["KeySchema"],
        GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = moto_server  # how a shell next to `make run` finds the local stack

    def saldo(*argv: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "saldo_tools.cli", "admin", *argv],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    org = saldo("create-org", "--name", "Lokal AS")
    key = saldo("create-key", "--org", org["org_id"], "--label", "dev")
    assert saldo("list-keys", "--org", org["org_id"])["keys"][0]["key_id"] == key["key_id"]
    # --local overrides a missing environment variable
    env.pop("AWS_ENDPOINT_URL")
    assert saldo("revoke-key", "--org", org["org_id"], "--key-id", key["key_id"], "--local", moto_server)[
        "revoked"
    ]
