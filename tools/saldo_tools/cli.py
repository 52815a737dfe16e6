"""`saldo` console script: `saldo admin ...` manages organizations and API keys.

Target selection (every admin command takes these):

- `--local URL` (or the environment's AWS_ENDPOINT_URL): the local stack's moto server, printed by
  `make run` as "AWS (moto)"; the table defaults to `saldo-local`.
- `--stack NAME`: a deployed stack; the table is the physical id of its `SaldoTable` resource.
- `--table NAME`: the table, directly (AWS, or the local stack with `--local`).

Every command prints JSON on stdout; notes go to stderr. A new key is printed once and stored only as
its SHA-256 hash, so it cannot be shown again: revoke it and create another if it is lost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

LOCAL_TABLE = "saldo-local"
TABLE_LOGICAL_ID = "SaldoTable"
AUTHORIZER_TTL_SECONDS = 300


class CliError(Exception):
    pass


def _client_accounts(text: str) -> list[int]:
    try:
        ids = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            "client accounts are comma-separated integer ids, e.g. 1001,1002"
        ) from None
    if not ids or any(i <= 0 for i in ids):
        raise argparse.ArgumentTypeError(
            "give at least one positive client account id (omit the option for all client accounts)"
        )
    return ids


def _non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saldo", description="Saldo command line tools.")
    top = parser.add_subparsers(dest="group", required=True, metavar="{admin}")
    admin = top.add_parser("admin", help="organizations and API keys")

    target = argparse.ArgumentParser(add_help=False)
    where = target.add_argument_group("target (one of --local / AWS_ENDPOINT_URL, --stack, --table)")
    where.add_argument(
        "--local", metavar="URL", help="the local stack's moto endpoint, e.g. http://127.0.0.1:5000"
    )
    where.add_argument("--stack", metavar="NAME", help="CloudFormation stack whose SaldoTable to use")
    where.add_argument("--table", metavar="NAME", help="DynamoDB table name")
    where.add_argument("--region", help="AWS region (default: AWS_REGION, else eu-north-1)")

    cmds = admin.add_subparsers(dest="command", required=True)
    org = cmds.add_parser("create-org", parents=[target], help="create an organization (a tenant)")
    org.add_argument("--name", required=True, type=_non_empty, help="display name of the organization")
    org.add_argument("--org-id", help="organization id (default: generated org_<hex>)")

    key = cmds.add_parser("create-key", parents=[target], help="create an API key; it is shown once")
    key.add_argument("--org", required=True, help="organization id")
    key.add_argument(
        "--client-accounts",
        type=_client_accounts,
        help="comma-separated client account ids the key is limited to (default: all)",
    )
    key.add_argument("--label", default="", help="what the key is for, shown by list-keys")

    listing = cmds.add_parser("list-keys", parents=[target], help="list an organization's keys (ids only)")
    listing.add_argument("--org", required=True, help="organization id")

    revoke = cmds.add_parser("revoke-key", parents=[target], help="revoke an API key")
    revoke.add_argument("--org", required=True, help="organization id")
    revoke.add_argument("--key-id", required=True, help="key id as shown by list-keys")
    return parser


@contextlib.contextmanager
def _aws_environment(args: argparse.Namespace) -> Iterator[None]:
    """Point boto3 at the chosen target for the duration of one command, then restore."""
    from saldo.adapters.clients import reset

    overrides: dict[str, str] = {}
    if args.local:
        overrides["AWS_ENDPOINT_URL"] = args.local
    if args.region:
        overrides["AWS_REGION"] = overrides["AWS_DEFAULT_REGION"] = args.region
    local = bool(args.local or os.environ.get("AWS_ENDPOINT_URL"))
    if local:  # moto accepts any credentials; do not send real ones to it
        overrides.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "local"))
        overrides.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "local"))
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or args.region):
        overrides["AWS_REGION"] = overrides["AWS_DEFAULT_REGION"] = "eu-north-1"
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    reset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset()


def resolve_table(args: argparse.Namespace) -> str:
    if args.table:
        return str(args.table)
    if args.stack:
        from saldo.adapters.clients import client

        cfn = client("cloudformation")
        try:
            res = cfn.describe_stack_resource(StackName=args.stack, LogicalResourceId=TABLE_LOGICAL_ID)
        except Exception as exc:  # botocore ClientError and friends, reported plainly
            raise CliError(f"cannot find {TABLE_LOGICAL_ID} in stack {args.stack}: {exc}") from None
        return str(res["StackResourceDetail"]["PhysicalResourceId"])
    if args.local or os.environ.get("AWS_ENDPOINT_URL"):
        return LOCAL_TABLE
    raise CliError("say where: --local URL (or AWS_ENDPOINT_URL), --stack NAME or --table NAME")


def _require_client_accounts(table: str, org_id: str, ids: list[int]) -> None:
    """A grant names client accounts of the key's own organization (catches typos and wrong orgs)."""
    from saldo.adapters.client_accounts import ClientAccountRepo
    from saldo.errors import NotFound

    repo = ClientAccountRepo(table)
    missing = [i for i in ids if repo.get(org_id, i) is None]
    if missing:
        listed = ", ".join(str(i) for i in missing)
        raise NotFound(f"Client account(s) {listed} do not exist in organization {org_id}")


def run(args: argparse.Namespace) -> tuple[Any, str | None]:
    """Run one admin command; returns (JSON result, note for stderr)."""
    from saldo.adapters.tenancy_store import TenancyStore

    store = TenancyStore(resolve_table(args))
    if args.command == "create-org":
        return store.create_org(args.name, org_id=args.org_id), None
    if args.command == "create-key":
        if args.client_accounts:
            _require_client_accounts(store.table, args.org, args.client_accounts)
        created = store.create_key(args.org, client_accounts=args.client_accounts, label=args.label)
        note = (
            "Store this key now: it is shown once and kept only as a SHA-256 hash. "
            "Send it as 'Authorization: Bearer <key>' (the batch API also takes 'lasso-api-key: <key>')."
        )
        return created, note
    if args.command == "list-keys":
        if store.get_org(args.org) is None:
            from saldo.errors import NotFound

            raise NotFound(f"Organization {args.org} does not exist")
        return {"org_id": args.org, "keys": store.list_keys(args.org)}, None
    if args.command == "revoke-key":
        store.revoke_key(args.org, args.key_id)
        note = (
            f"Revoked. Gateways that cached this key's authorization may accept it for up to "
            f"{AUTHORIZER_TTL_SECONDS} s more."
        )
        return {"org_id": args.org, "key_id": args.key_id, "revoked": True}, note
    raise CliError(f"unknown command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from saldo.errors import SaldoError

    try:
        with _aws_environment(args):
            result, note = run(args)
    except (SaldoError, CliError) as exc:
        message = exc.message if isinstance(exc, SaldoError) else str(exc)
        print(json.dumps({"error": message}), file=sys.stderr)
        return 1
    except Exception as exc:  # boto errors: no credentials, no table, no endpoint
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if note:
        print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
