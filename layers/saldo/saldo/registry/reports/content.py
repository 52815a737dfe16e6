"""What a company report knows: the company as of a day, its owners computed and registered, its group,
its history, the other companies of its key persons, key figures and warnings.

`gather` reads the registry once per report; everything after it is pure. Key figures come from the
linked client account's ledger when there is one (the organization's own books), else from the annual
figures recorded in the registry; a ledger year takes the registry's auditor statement and approval date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from saldo.registry import record as rec
from saldo.registry.service import RegistryService, company_key, normalized_number

# Deadlines for filing the annual report, in months after the fiscal year end: Danish class B/C companies
# five months, listed (class D) four (årsregnskabsloven § 138); Norwegian companies file by 31 July for a
# calendar year (regnskapsloven § 8-2: a month after approval, at most seven months); others six.
FILING_MONTHS = {"DK": 5, "NO": 7}
LISTED_FILING_MONTHS = 4
# The group diagram: how far up and down it walks, and how many boxes it holds at most.
GROUP_UP = 4
GROUP_DOWN = 2
GROUP_MAX_NODES = 60
# Owners drawn per company, the largest first; the rest are one box ("+ 489 more owners"), since a
# diagram of hundreds of minority owners says less than the owners table does.
GROUP_OWNERS_SHOWN = 8
KEY_ROLES = ("management", "chair", "board", "fully_liable_partner")

# (client account id, report day) -> the fiscal years ended by that day, newest first
LedgerFigures = Callable[[int, date], list[dict[str, Any]]]


@dataclass
class GroupNode:
    key: str
    name: str
    layer: int
    kind: str  # focus | company | person | missing | more (the owners not drawn; `name` is their count)
    country: str | None = None
    registration_number: str | None = None


@dataclass
class GroupEdge:
    owner: str
    owned: str
    capital: dict[str, Any] | None
    votes: dict[str, Any] | None


@dataclass
class CompanyFile:
    as_of: date
    view: dict[str, Any]
    ownership: dict[str, Any]
    history: list[dict[str, Any]]
    former_names: list[str]
    figures: list[dict[str, Any]]
    figures_source: str | None
    persons: dict[str, dict[str, Any]]
    group_nodes: list[GroupNode] = field(default_factory=list)
    group_edges: list[GroupEdge] = field(default_factory=list)
    group_complete: bool = True
    related: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def country(self) -> str:
        return str(self.view["country"])


def gather(
    service: RegistryService,
    country: str,
    number: str,
    as_of: date,
    *,
    ledger_figures: LedgerFigures | None = None,
    extended: bool = False,
) -> CompanyFile:
    number = normalized_number(country, number)
    record = service.record(country, number)  # 404 when the company is not in the registry
    view = rec.as_of(record, as_of)
    ownership = service.ownership(country, number, as_of)
    figures, source = merged_figures(view, as_of, ledger_figures)
    person_ids = {r["party"]["person_id"] for r in view["roles"] if "person_id" in r["party"]}
    person_ids |= {o["party"]["person_id"] for o in view["owners"] if "person_id" in o["party"]}
    person_ids |= {b["person_id"] for b in view["registered_beneficial_owners"]}
    person_ids |= {c["person_id"] for c in ownership["computed_beneficial_owners"]}
    persons = {pid: p for pid in sorted(person_ids) if (p := service.store.get_person(service.org_id, pid))}
    file = CompanyFile(
        as_of=as_of,
        view=view,
        ownership=ownership,
        history=[e for e in rec.history(record) if e["date"] <= as_of.isoformat()],
        former_names=former_names(record, as_of),
        figures=figures,
        figures_source=source,
        persons=persons,
    )
    if extended:
        file.group_nodes, file.group_edges, file.group_complete = group_structure(
            service, country, number, as_of
        )
        file.related = related_companies(service, view, ownership, as_of)
    file.warnings = warnings(file)
    return file


def former_names(record: dict[str, Any], as_of: date) -> list[str]:
    """Names the company had before the one it has on `as_of`, newest first."""
    current = rec.value_at(record["facts"].get("name", []), as_of)
    out: list[str] = []
    for seg in sorted(record["facts"].get("name", []), key=lambda s: s["from"] or "", reverse=True):
        if seg["value"] != current and seg["value"] not in out and (seg["from"] or "") <= as_of.isoformat():
            out.append(seg["value"])
    return out


def merged_figures(
    view: dict[str, Any], as_of: date, ledger_figures: LedgerFigures | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Key figures per fiscal year, newest first: the ledger's when the company links a client account,
    else the registered ones; the source says which."""
    registered = {
        int(f["year"]): f for f in view["key_figures"] if known_by(f, view.get("balance_day"), as_of)
    }
    account = view.get("client_account_id")
    if account is not None and ledger_figures is not None:
        from_ledger = ledger_figures(int(account), as_of)
        if from_ledger:
            out = []
            for figures in from_ledger:
                extra = registered.get(int(figures["year"]), {})
                filled = {k: v for k, v in extra.items() if k not in figures or figures[k] is None}
                out.append({**filled, **{k: v for k, v in figures.items() if v is not None}})
            return sorted(out, key=lambda f: -int(f["year"])), "ledger"
    if registered:
        return [registered[y] for y in sorted(registered, reverse=True)], "registered"
    return [], None


def fiscal_year_end(figures: dict[str, Any], balance_day: str | None) -> date:
    if figures.get("period_to"):
        return date.fromisoformat(str(figures["period_to"]))
    return last_fiscal_year_end(balance_day or "12-31", date(int(figures["year"]), 12, 31))


def known_by(figures: dict[str, Any], balance_day: str | None, as_of: date) -> bool:
    """Registered figures as a report of `as_of` knows them: the year has ended and its annual report,
    when dated, was approved by then."""
    approved = figures.get("annual_report_date")
    if approved and date.fromisoformat(str(approved)) > as_of:
        return False
    return fiscal_year_end(figures, balance_day) <= as_of


# ---------------------------------------------------------------------------------------------- group
def group_structure(
    service: RegistryService, country: str, number: str, as_of: date
) -> tuple[list[GroupNode], list[GroupEdge], bool]:
    """Owners up to GROUP_UP levels above the company and subsidiaries GROUP_DOWN below, each box once
    (at its nearest level), with every ownership edge between boxes drawn. False when cut short."""
    focus = company_key(country, number)
    views: dict[str, dict[str, Any] | None] = {}

    def view_of(key: str) -> dict[str, Any] | None:
        if key not in views:
            _, c, n = key.split("#", 2)
            found = service.store.get_company(service.org_id, c, n)
            views[key] = rec.as_of(found[0], as_of) if found else None
        return views[key]

    layers: dict[str, int] = {focus: 0}
    names: dict[str, str] = {}
    hidden: dict[str, int] = {}  # owned company -> owners not drawn
    complete = True
    frontier = [focus]
    for depth in range(1, GROUP_UP + 1):
        nxt = []
        for key in frontier:
            view = view_of(key)
            owners = sorted(view["owners"] if view else [], key=_largest_first)
            if len(owners) > GROUP_OWNERS_SHOWN:
                hidden[key] = len(owners) - (GROUP_OWNERS_SHOWN - 1)
                owners = owners[: GROUP_OWNERS_SHOWN - 1]
            for owner in owners:
                okey = _party(owner["party"])
                names.setdefault(okey, owner["name"])
                if okey in layers:
                    continue
                if len(layers) >= GROUP_MAX_NODES:
                    complete = False
                    continue
                layers[okey] = -depth
                if okey.startswith("C#"):
                    nxt.append(okey)
        frontier = nxt
    frontier = [focus]
    for depth in range(1, GROUP_DOWN + 1):
        nxt = []
        for key in frontier:
            _, c, n = key.split("#", 2)
            for sub in service.subsidiaries(c, n, as_of):
                skey = company_key(sub["country"], sub["registration_number"])
                names.setdefault(skey, sub["name"])
                if skey in layers:
                    continue
                if len(layers) >= GROUP_MAX_NODES:
                    complete = False
                    continue
                layers[skey] = depth
                nxt.append(skey)
        frontier = nxt
    nodes = []
    for key, layer in layers.items():
        if key.startswith("P#"):
            nodes.append(GroupNode(key, names.get(key, key[2:]), layer, "person"))
            continue
        _, c, n = key.split("#", 2)
        view = view_of(key)
        kind = "focus" if key == focus else "company" if view else "missing"
        name = view["name"] if view and view["name"] else names.get(key, n)
        nodes.append(GroupNode(key, name, layer, kind, c, n))
    edges = []
    for key in layers:
        view = view_of(key) if key.startswith("C#") else None  # read once: view_of keeps what it read
        for owner in view["owners"] if view else []:
            okey = _party(owner["party"])
            if okey in layers:
                edges.append(GroupEdge(okey, key, owner.get("capital"), owner.get("votes")))
    for key, count in hidden.items():
        more = f"{MORE_PREFIX}{key}"
        nodes.append(GroupNode(more, str(count), layers[key] - 1, "more"))
        edges.append(GroupEdge(more, key, None, None))
    return nodes, edges, complete


MORE_PREFIX = "MORE#"


def _largest_first(owner: dict[str, Any]) -> tuple[Any, ...]:
    share = owner.get("capital") or owner.get("votes") or {"high": "0"}
    return (-Decimal(str(share["high"])), owner["name"])


def related_companies(
    service: RegistryService, view: dict[str, Any], ownership: dict[str, Any], as_of: date
) -> list[dict[str, Any]]:
    """For each key person (management, board, fully liable partners, computed beneficial owners), their
    roles and holdings in the registry's other companies."""
    me = (view["country"], view["registration_number"])
    people: dict[str, str] = {}
    for r in view["roles"]:
        if r["role"] in KEY_ROLES and "person_id" in r["party"]:
            people.setdefault(r["party"]["person_id"], r["name"])
    for c in ownership["computed_beneficial_owners"]:
        people.setdefault(c["person_id"], c["name"])
    out = []
    for pid, name in sorted(people.items(), key=lambda p: p[1]):
        others = [
            c
            for c in service.person(pid, as_of)["companies"]
            if (c["country"], c["registration_number"]) != me
        ]
        if others:
            out.append({"person_id": pid, "name": name, "companies": others})
    return out


def _party(party: dict[str, Any]) -> str:
    if "person_id" in party:
        return f"P#{party['person_id']}"
    return company_key(party["country"], party["registration_number"])


# ------------------------------------------------------------------------------------------- warnings
def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in range(day.day, 27, -1):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def last_fiscal_year_end(balance_day: str, as_of: date) -> date:
    """The latest fiscal year end on or before `as_of` (`balance_day` is MM-DD; 02-29 is 28 Feb in
    other years)."""
    month, day = int(balance_day[:2]), int(balance_day[3:])

    def end_in(year: int) -> date:
        try:
            return date(year, month, day)
        except ValueError:
            return date(year, month, 28)

    end = end_in(as_of.year)
    return end if end <= as_of else end_in(as_of.year - 1)


def filing_deadline(country: str, listed: bool, fiscal_end: date) -> date:
    months = LISTED_FILING_MONTHS if listed and country == "DK" else FILING_MONTHS.get(country, 6)
    return _add_months(fiscal_end + timedelta(days=1), months) - timedelta(days=1)


def warnings(file: CompanyFile) -> list[dict[str, Any]]:
    """The checks of a due-diligence report, each `{"code", ...the values it names}`."""
    view, out = file.view, []
    latest = next((f for f in file.figures if f.get("equity") is not None and f.get("share_capital")), None)
    if latest and Decimal(latest["equity"]) < Decimal(latest["share_capital"]) / 2:
        out.append(
            {
                "code": "capital_loss",
                "year": latest["year"],
                "equity": latest["equity"],
                "share_capital": latest["share_capital"],
            }
        )
    if view.get("balance_day"):
        end = last_fiscal_year_end(view["balance_day"], file.as_of)
        deadline = filing_deadline(file.country, view["listed"], end)
        founded = date.fromisoformat(view["founded"]) if view.get("founded") else None
        owed = founded is None or founded <= end
        registered = {
            int(f["year"]): f for f in view["key_figures"] if known_by(f, view["balance_day"], file.as_of)
        }
        if owed and deadline < file.as_of and end.year not in registered:
            out.append({"code": "annual_report_missing", "fiscal_year_end": end, "deadline": deadline})
        for year, figures in sorted(registered.items(), reverse=True)[:3]:
            approved = figures.get("annual_report_date")
            due = filing_deadline(file.country, view["listed"], fiscal_year_end(figures, view["balance_day"]))
            if approved and date.fromisoformat(str(approved)) > due:
                out.append(
                    {"code": "annual_report_late", "year": year, "approved": approved, "deadline": due}
                )
    year_ago = file.as_of - timedelta(days=365)
    changes = sorted(
        {
            e["date"]
            for e in file.history
            if e["section"] == "roles" and e.get("role") == "management" and e["date"] > year_ago.isoformat()
        },
        reverse=True,
    )
    if changes:
        out.append({"code": "management_changed", "dates": changes})
    status = (view.get("status") or "normal").strip()
    if status.lower() not in ("normal", "aktiv", "active"):
        out.append({"code": "status", "status": status})
    if file.ownership["differences"]:
        out.append({"code": "owners_disagree", "count": len(file.ownership["differences"])})
    if not file.ownership["complete"] or not file.group_complete:
        out.append({"code": "incomplete"})
    return out
