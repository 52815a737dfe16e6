"""Registry use cases: write and read companies and persons, compute beneficial ownership.

Every read and write is scoped to the caller's organization. A company write is one conditional put on
the record's version; on a lost race it re-reads and re-applies the snapshot, so two writers never lose
each other's history. A write that changes something publishes a `CompanyChanged` event naming the
sections that changed (master data, owners, beneficial owners, management, key figures).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from saldo import tokens
from saldo.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from saldo.ledger import regno
from saldo.registry import record as rec
from saldo.registry.models import CompanyIn, PersonIn
from saldo.registry.ownership import (
    CompanyFacts,
    Holding,
    Qualification,
    Range,
    beneficial_owners,
)

MAX_ATTEMPTS = 10
# The walk up the ownership graph reads at most this many companies.
MAX_GRAPH_COMPANIES = 500
EVENT_SOURCE = "saldo.registry"


@cache
def default_store() -> Any:
    from saldo.adapters.registry_store import RegistryStore

    return RegistryStore()


@cache
def default_client_accounts() -> Any:
    from saldo.adapters.client_accounts import ClientAccountRepo

    return ClientAccountRepo()


def _publish(detail_type: str, detail: dict[str, Any]) -> None:
    from saldo.adapters.events import publish

    publish(detail_type, detail, source=EVENT_SOURCE)


def today() -> date:
    return datetime.now(UTC).date()


def company_key(country: str, number: str) -> str:
    return f"C#{country}#{number}"


def normalized_number(country: str, value: str) -> str:
    """The normalized number, or 400 naming the rule it breaks."""
    if len(value) > 32:
        raise BadRequest(f"registration_number: at most 32 characters ({len(value)} given)")
    try:
        return regno.validate(value, country)
    except ValueError as exc:
        raise BadRequest(f"registration_number: {exc}") from None


def _range(value: dict[str, Any] | None) -> Range | None:
    return None if value is None else Range(Decimal(value["low"]), Decimal(value["high"]))


def _range_json(value: Range) -> dict[str, str]:
    return {"low": str(value.low), "high": str(value.high), "label": value.label()}


class RegistryService:
    def __init__(
        self,
        org_id: str,
        store: Any = None,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        *,
        client_accounts: Any = None,
        may_access: Callable[[int], object] | None = None,
    ) -> None:
        """`may_access(id)` raises Forbidden unless the caller's key may reach the client account (its grant);
        the route passes `current_caller().require_client_account`."""
        self.org_id = org_id
        self.store = store or default_store()
        self.publish = publish or _publish
        self._client_accounts = client_accounts
        self.may_access = may_access

    def _check_client_account(self, client_account_id: int | None) -> None:
        """A company may link only a client account of this organization that the key reaches: 403 otherwise,
        the same answer for one that does not exist as for another organization's (docs/SECURITY.md)."""
        if client_account_id is None:
            return
        if self.may_access is not None:
            self.may_access(client_account_id)
        repo = self._client_accounts or default_client_accounts()
        if repo.record(self.org_id, client_account_id) is None:
            raise Forbidden(f"No access to client account {client_account_id}")

    # ------------------------------------------------------------------ companies
    def put_company(self, country: str, number: str, company: CompanyIn) -> tuple[dict[str, Any], bool]:
        """Record the company as it stands on its effective date; (the view on that date, created)."""

        number = normalized_number(country, number)
        _check_parties(company)
        self._check_client_account(company.client_account_id)
        day = company.effective_date or today()
        after, before = self._commit(
            country,
            number,
            day,
            lambda before: rec.apply_snapshot(before or rec.new_record(country, number), company, day),
        )
        return rec.as_of(after, day), before is None

    def replace_history(self, country: str, number: str, register: dict[str, Any]) -> bool:
        """Take a register's whole history for the company (a CVR document); the organization's own key
        figures and ledger link are kept. True when the company is new."""

        def keep_own(before: dict[str, Any] | None) -> dict[str, Any]:
            after = {**register, "key_figures": dict((before or register)["key_figures"])}
            if before is not None:
                after["facts"] = {
                    **register["facts"],
                    "client_account_id": before["facts"].get("client_account_id", []),
                }
            return after

        _, before = self._commit(country, number, today(), keep_own)
        return before is None

    def _commit(
        self, country: str, number: str, day: date, change: Callable[[dict[str, Any] | None], dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Write `change(stored record)` with a version check, again on a lost race; publish what changed
        as of `day`. Returns the record written (or found unchanged) and the one it replaced."""
        from saldo.adapters.registry_store import VersionConflict

        for _ in range(MAX_ATTEMPTS):
            found = self.store.get_company(self.org_id, country, number)
            before, version = found if found else (None, 0)
            after = change(before)
            if before is not None and after == before:
                return after, before
            new_parties = rec.parties(after) - (rec.parties(before) if before else set())
            self.store.add_links(
                self.org_id, new_parties, country, number
            )  # before the record: never missing
            try:
                self.store.put_company(
                    self.org_id, after, rec.as_of(after, today())["name"] or number, version
                )
            except VersionConflict:
                continue
            changed = rec.changed_sections(before, after, day)
            if changed:
                self.publish(
                    "CompanyChanged",
                    {
                        "org_id": self.org_id,
                        "country": country,
                        "registration_number": number,
                        "changed": changed,
                        "effective_date": day.isoformat(),
                        "created": before is None,
                    },
                )
            return after, before
        raise Conflict("The company is being changed by many writers at once; retry the request")

    def import_documents(self, documents: list[Any]) -> dict[str, Any]:
        """Read every document first; only when all can be read is anything written (each company whole)."""
        from saldo.registry import formats

        parsed: list[tuple[str, str, str, Any]] = []
        problems = []
        seen: dict[tuple[str, str], int] = {}
        for i, document in enumerate(documents):
            try:
                kind = formats.detect(document)
                if kind == "cvr":
                    country, number, content = formats.read_cvr(document)
                elif kind == "enhetsregisteret":
                    country, number, content = formats.read_enhetsregisteret(document, today())
                else:
                    country, number, content = formats.read_saldo(document)
                if isinstance(content, CompanyIn):
                    _check_parties(content)
                    # Forbidden (403) is not a problem of the document: it ends the import, nothing written.
                    self._check_client_account(content.client_account_id)
            except formats.DocumentError as exc:
                problems.append({"field": f"documents[{i}]", "message": str(exc)})
                continue
            except Unprocessable as exc:
                problems.append({"field": f"documents[{i}]", "message": exc.message})
                continue
            if (country, number) in seen:
                problems.append(
                    {
                        "field": f"documents[{i}]",
                        "message": f"{country} {number} appears twice (documents[{seen[(country, number)]}])",
                    }
                )
                continue
            seen[(country, number)] = i
            parsed.append((kind, country, number, content))
        if problems:
            raise Unprocessable(
                f"{len(problems)} of {len(documents)} documents cannot be imported; nothing was imported. "
                f"{problems[0]['field']}: {problems[0]['message']}",
                details=problems,
            )
        results = []
        for kind, country, number, content in parsed:
            if isinstance(content, CompanyIn):
                _, created = self.put_company(country, number, content)
            else:
                created = self.replace_history(country, number, content)
            results.append(
                {"format": kind, "country": country, "registration_number": number, "created": created}
            )
        return {"imported": len(results), "companies": results}

    def record(self, country: str, number: str) -> dict[str, Any]:
        number = normalized_number(country, number)
        found = self.store.get_company(self.org_id, country, number)
        if found is None:
            raise NotFound(f"Company {country} {number} is not in this organization's registry")
        return found[0]

    def company(self, country: str, number: str, as_of: date | None = None) -> dict[str, Any]:
        return rec.as_of(self.record(country, number), as_of or today())

    def history(self, country: str, number: str) -> list[dict[str, Any]]:
        return rec.history(self.record(country, number))

    def list_companies(
        self, text: str | None, limit: int, cursor: str | None, as_of: date | None = None
    ) -> dict[str, Any]:
        start = self._decode_cursor(cursor) if cursor else None
        records, last = self.store.list_companies(self.org_id, text, limit, start)
        day = as_of or today()
        return {
            "data": [_summary(rec.as_of(r, day)) for r in records],
            "next_cursor": self._encode_cursor(last) if last else None,
        }

    def _encode_cursor(self, key: dict[str, Any]) -> str:
        return tokens.pack({"o": self.org_id, "k": key["sk"]["S"]})

    def _decode_cursor(self, cursor: str) -> dict[str, Any]:
        """The query's start key; a cursor of another organization or a made-up one is a 400."""
        try:
            data = tokens.unpack(cursor)
            if data.get("o") != self.org_id or not str(data.get("k")).startswith("CO#"):
                raise ValueError
            return {"pk": {"S": f"ORG#{self.org_id}#REG"}, "sk": {"S": str(data["k"])}}
        except ValueError:
            raise BadRequest("cursor: not a cursor this list gave out; start again without it") from None

    # ------------------------------------------------------------------ persons
    def put_person(self, person_id: str, person: PersonIn) -> tuple[dict[str, Any], bool]:
        body = {"id": person_id, **person.model_dump(mode="json", exclude_none=True)}
        created = self.store.put_person(self.org_id, person_id, body)
        return body, created

    def person(self, person_id: str, as_of: date | None = None) -> dict[str, Any]:
        person = self.store.get_person(self.org_id, person_id)
        companies = self._roles_of(f"P#{person_id}", as_of or today())
        if person is None and not companies:
            raise NotFound(f"Person {person_id} is not in this organization's registry")
        return {**(person or {"id": person_id}), "companies": companies}

    def _roles_of(self, party: str, day: date) -> list[dict[str, Any]]:
        """The party's roles, holdings and registrations in every company that names it, as of `day`."""
        out = []
        for country, number in self.store.linked_companies(self.org_id, party):
            found = self.store.get_company(self.org_id, country, number)
            if found is None:
                continue
            view = rec.as_of(found[0], day)
            links = [
                {"relation": r["role"], **_share_fields(r)}
                for r in view["roles"]
                if _party_key(r["party"]) == party
            ]
            links += [
                {"relation": "owner", **_share_fields(o)}
                for o in view["owners"]
                if _party_key(o["party"]) == party
            ]
            links += [
                {"relation": "registered_beneficial_owner", **_share_fields(b)}
                for b in view["registered_beneficial_owners"]
                if f"P#{b['person_id']}" == party
            ]
            if links:
                out.append(
                    {
                        "country": country,
                        "registration_number": number,
                        "name": view["name"],
                        "relations": links,
                    }
                )
        return sorted(out, key=lambda c: (c["name"] or "", c["registration_number"]))

    def subsidiaries(self, country: str, number: str, as_of: date | None = None) -> list[dict[str, Any]]:
        """Companies this company owns, with its shares in them."""
        return [
            c
            for c in self._roles_of(company_key(country, number), as_of or today())
            if any(link["relation"] == "owner" for link in c["relations"])
        ]

    # ------------------------------------------------------------------ ownership
    def ownership(self, country: str, number: str, as_of: date | None = None) -> dict[str, Any]:
        """Computed beneficial owners of the company beside the registered ones, with every difference."""
        day = as_of or today()
        target = company_key(country, normalized_number(country, number))
        views: dict[str, dict[str, Any]] = {}
        frontier = [target]
        truncated = False
        while frontier:
            key = frontier.pop()
            if key in views:
                continue
            if len(views) >= MAX_GRAPH_COMPANIES:
                truncated = True
                break
            _, c, n = key.split("#", 2)
            found = self.store.get_company(self.org_id, c, n)
            if found is None:
                if key == target:
                    raise NotFound(f"Company {c} {n} is not in this organization's registry")
                continue
            views[key] = rec.as_of(found[0], day)
            frontier.extend(_party_key(o["party"]) for o in views[key]["owners"] if "country" in o["party"])
        holdings = [
            Holding(_party_key(o["party"]), key, _range(o.get("capital")), _range(o.get("votes")))
            for key, view in views.items()
            for o in view["owners"]
        ]
        persons = {h.owner for h in holdings if h.owner.startswith("P#")}
        facts = {
            key: CompanyFacts(
                listed=view["listed"],
                management=tuple(
                    _party_key(r["party"])
                    for r in view["roles"]
                    if r["role"] == "management" and "person_id" in r["party"]
                ),
            )
            for key, view in views.items()
        }
        persons |= {p for f in facts.values() for p in f.management}
        result = beneficial_owners(target, holdings, persons, facts)
        names = _names(views)
        view = views[target]
        computed = [
            {
                "person_id": o.person[2:],
                "name": names.get(o.person, o.person[2:]),
                "basis": o.basis.value,
                "capital": _range_json(o.capital),
                "votes": _range_json(o.votes),
                "chains": [
                    {
                        "path": [{"key": n, "name": names.get(n, n)} for n in chain.nodes],
                        "capital": _range_json(chain.capital) if chain.capital else None,
                        "votes": _range_json(chain.votes) if chain.votes else None,
                    }
                    for chain in o.chains
                ],
            }
            for o in result.owners
        ]
        registered = view["registered_beneficial_owners"]
        return {
            "country": country,
            "registration_number": view["registration_number"],
            "name": view["name"],
            "as_of": day.isoformat(),
            "computed_beneficial_owners": computed,
            "registered_beneficial_owners": registered,
            "differences": _differences(computed, registered),
            "exempt_reason": _exempt_reason(result.exempt_reason, names),
            "cycles": [[names.get(n, n) for n in cycle] for cycle in result.cycles],
            "missing_owners": [{"key": m, "name": names.get(m, m)} for m in result.missing],
            "complete": result.complete and not truncated,
        }


def _exempt_reason(reason: str | None, names: dict[str, str]) -> str | None:
    """The exemption in words: the listed parent by name and number, not by its registry key."""
    prefix = "wholly owned by listed company "
    if reason is None or not reason.startswith(prefix):
        return reason
    key = reason[len(prefix) :]
    _, country, number = key.split("#", 2)
    return f"{prefix}{names.get(key, number)} ({country} {number})"


def _check_parties(company: CompanyIn) -> None:
    """Companies named as owners or in roles carry valid numbers, normalized as the registry keys them."""
    problems = []
    for section, items in (("owners", company.owners), ("roles", company.roles)):
        for i, item in enumerate(items):
            party = item.party
            if party.country is None or party.registration_number is None:
                continue
            try:
                party.registration_number = regno.validate(party.registration_number, party.country)
            except ValueError as exc:
                problems.append({"field": f"{section}[{i}].party.registration_number", "message": str(exc)})
    if problems:
        raise Unprocessable(f"{problems[0]['field']}: {problems[0]['message']}", details=problems)


def _party_key(party: dict[str, Any]) -> str:
    if "person_id" in party:
        return f"P#{party['person_id']}"
    return company_key(party["country"], party["registration_number"])


def _share_fields(value: dict[str, Any]) -> dict[str, Any]:
    return {
        k: value[k]
        for k in ("capital", "votes", "title", "valid_from", "valid_to")
        if value.get(k) is not None
    }


def _names(views: dict[str, dict[str, Any]]) -> dict[str, str]:
    names = {key: view["name"] for key, view in views.items()}
    for view in views.values():
        for item in view["owners"] + view["roles"]:
            names.setdefault(_party_key(item["party"]), item["name"])
    return names


def _summary(view: dict[str, Any]) -> dict[str, Any]:
    return {
        k: view[k]
        for k in (
            "country",
            "registration_number",
            "name",
            "legal_form",
            "status",
            "listed",
            "client_account_id",
        )
    }


def _differences(computed: list[dict[str, Any]], registered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the register says and the computation does not, and the other way round."""
    out: list[dict[str, Any]] = []
    reg = {r["person_id"]: r for r in registered}
    comp = {c["person_id"]: c for c in computed}
    for pid, c in comp.items():
        if pid not in reg:
            kind = "management_not_registered" if c["basis"] == Qualification.MANAGEMENT else "not_registered"
            out.append({"person_id": pid, "name": c["name"], "difference": kind})
        elif c["basis"] != Qualification.MANAGEMENT and reg[pid].get("capital"):
            r = _range(reg[pid]["capital"])
            low, high = Decimal(c["capital"]["low"]), Decimal(c["capital"]["high"])
            if r is not None and (r.high < low or high < r.low):
                out.append(
                    {
                        "person_id": pid,
                        "name": c["name"],
                        "difference": "share_differs",
                        "registered": _range_json(r),
                        "computed": c["capital"],
                    }
                )
    for pid, r in reg.items():
        if pid not in comp:
            out.append({"person_id": pid, "name": r["name"], "difference": "not_computed"})
    return out
