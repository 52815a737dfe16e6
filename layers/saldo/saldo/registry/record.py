"""A company's registry record: every value with the period it was valid, so it answers "as of" any date.

The record is plain JSON (dates as ISO strings): it is stored as it is. Each attribute, and each role,
owner and registered beneficial owner (by identity), has a timeline: segments `{"value", "from", "to"}`
that never overlap, `to` inclusive and None while open, `from` None for "since before we know".

Writing a snapshot "as of D" sets each value from D until the next recorded change: the segment valid
on D is cut at D, and a role or owner missing from the snapshot ends the day before D. So a snapshot of
an earlier date fills history in without overwriting what was recorded for later dates.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from saldo.registry.models import CompanyIn, KeyFigures

Segment = dict[str, Any]
Timeline = list[Segment]

SCALARS = (
    "name",
    "address",
    "legal_form",
    "status",
    "founded",
    "industry_codes",
    "purpose",
    "employees",
    "balance_day",
    "listed",
    "client_account_id",
)
MONEY_FIELDS = frozenset(
    name for name, f in KeyFigures.model_fields.items() if "Decimal" in str(f.annotation)
)
# Sections whose change a company-changed event names.
MASTER_DATA = "master_data"
OWNERS = "owners"
BENEFICIAL_OWNERS = "beneficial_owners"
MANAGEMENT = "management"
KEY_FIGURES = "key_figures"


def new_record(country: str, registration_number: str) -> dict[str, Any]:
    return {
        "country": country,
        "registration_number": registration_number,
        "facts": {},
        "roles": {},
        "owners": {},
        "beneficial_owners": {},
        "key_figures": {},
    }


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _covers(seg: Segment, day: date) -> bool:
    start, end = _d(seg["from"]), _d(seg["to"])
    return (start is None or start <= day) and (end is None or day <= end)


def value_at(timeline: Timeline, day: date) -> Any:
    for seg in timeline:
        if _covers(seg, day):
            return seg["value"]
    return None


def set_at(timeline: Timeline, day: date, value: Any) -> Timeline:
    """The timeline with `value` from `day` until the next recorded change (None: absent in that span)."""
    out: Timeline = []
    span_end: date | None = None
    found = False
    for seg in timeline:
        if _covers(seg, day):
            found = True
            span_end = _d(seg["to"])
            if seg["from"] is None or _d(seg["from"]) < day:  # type: ignore[operator]
                out.append({**seg, "to": (day - timedelta(days=1)).isoformat()})
        else:
            out.append(seg)
    if not found:  # a gap: the new value runs until the next segment starts
        later = [_d(s["from"]) for s in timeline if s["from"] and _d(s["from"]) > day]  # type: ignore[operator]
        span_end = min(later) - timedelta(days=1) if later else None  # type: ignore[type-var]
    if value is not None:
        end = span_end.isoformat() if span_end else None
        out.append({"value": value, "from": day.isoformat(), "to": end})
    out.sort(key=lambda s: s["from"] or "")
    return _merged(out)


def _adjacent(first: Segment | None, second: Segment | None) -> bool:
    """`second` starts the day after `first` ends."""
    if not first or not second or not first["to"] or not second["from"]:
        return False
    return _d(first["to"]) + timedelta(days=1) == _d(second["from"])  # type: ignore[operator]


def _merged(timeline: Timeline) -> Timeline:
    """Adjacent segments with equal values become one."""
    out: Timeline = []
    for seg in timeline:
        if out and out[-1]["value"] == seg["value"] and _adjacent(out[-1], seg):
            out[-1] = {**out[-1], "to": seg["to"]}
            continue
        out.append(seg)
    return out


def _json(value: Any) -> Any:
    """Pydantic values as the record stores them (Decimal and dates as strings)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def apply_snapshot(record: dict[str, Any], company: CompanyIn, day: date) -> dict[str, Any]:
    """The record with `company` as it stands from `day` on (see the module's docstring)."""
    out = copy.deepcopy(record)
    for attr in SCALARS:
        value = _json(getattr(company, attr))
        if value in (None, []) and attr != "listed":
            value = None
        out["facts"][attr] = set_at(out["facts"].get(attr, []), day, value)
    sections = (
        ("roles", {f"{r.role}|{r.party.key()}": _json(r) for r in company.roles}),
        ("owners", {o.party.key(): _json(o) for o in company.owners}),
        ("beneficial_owners", {b.person_id: _json(b) for b in company.registered_beneficial_owners}),
    )
    for section, items in sections:
        timelines = out[section]
        for identity in set(timelines) | set(items):
            timelines[identity] = set_at(timelines.get(identity, []), day, items.get(identity))
            if not timelines[identity]:
                del timelines[identity]
    for figures in company.key_figures:
        out["key_figures"][str(figures.year)] = _json(figures)
    return out


def as_of(record: dict[str, Any], day: date) -> dict[str, Any]:
    """The company as it stood on `day`: plain values, lists of the roles, owners and beneficial owners."""
    view: dict[str, Any] = {
        "country": record["country"],
        "registration_number": record["registration_number"],
        "as_of": day.isoformat(),
    }
    for attr in SCALARS:
        view[attr] = value_at(record["facts"].get(attr, []), day)
    view["listed"] = bool(view["listed"])
    view["industry_codes"] = view["industry_codes"] or []
    for section in ("roles", "owners", "beneficial_owners"):
        current = []
        for timeline in record[section].values():
            for seg in timeline:
                if _covers(seg, day):
                    current.append({**seg["value"], "valid_from": seg["from"], "valid_to": seg["to"]})
        current.sort(key=lambda v: (v.get("role", ""), v["name"]))
        view[section] = current
    view["registered_beneficial_owners"] = view.pop("beneficial_owners")
    view["key_figures"] = [
        _figures(record["key_figures"][y]) for y in sorted(record["key_figures"], reverse=True)
    ]
    return view


def _figures(stored: dict[str, Any]) -> dict[str, Any]:
    """Key figures with amounts as Decimal (the record keeps them as exact strings)."""
    return {k: Decimal(v) if k in MONEY_FIELDS else v for k, v in stored.items()}


def changed_sections(before: dict[str, Any] | None, after: dict[str, Any], day: date) -> list[str]:
    """Which parts of the company, as of `day`, differ between two records (all of them for a new one)."""
    if before is None:
        return [MASTER_DATA, OWNERS, BENEFICIAL_OWNERS, MANAGEMENT, KEY_FIGURES]
    a, b = as_of(before, day), as_of(after, day)
    changed = []
    if any(a[k] != b[k] for k in SCALARS):
        changed.append(MASTER_DATA)
    if a["owners"] != b["owners"]:
        changed.append(OWNERS)
    if a["registered_beneficial_owners"] != b["registered_beneficial_owners"]:
        changed.append(BENEFICIAL_OWNERS)
    if a["roles"] != b["roles"]:
        changed.append(MANAGEMENT)
    if before["key_figures"] != after["key_figures"]:
        changed.append(KEY_FIGURES)
    return changed


def history(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Dated changes of roles and owners, newest first: who came, who went, whose share changed."""
    events: list[dict[str, Any]] = []
    for section in ("roles", "owners"):
        for timeline in record[section].values():
            for i, seg in enumerate(timeline):
                value = seg["value"]
                prev = timeline[i - 1] if i else None
                if seg["from"]:
                    kind = "changed" if _adjacent(prev, seg) else "joined"
                    events.append({"date": seg["from"], "section": section, "change": kind, **value})
                if seg["to"]:
                    nxt = timeline[i + 1] if i + 1 < len(timeline) else None
                    if not _adjacent(seg, nxt):
                        end = (_d(seg["to"]) + timedelta(days=1)).isoformat()  # type: ignore[operator]
                        events.append({"date": end, "section": section, "change": "left", **value})
    events.sort(key=lambda e: e["date"], reverse=True)
    return events


def parties(record: dict[str, Any]) -> set[str]:
    """Every party key (`P#id`, `C#country#number`) the record links to, at any time."""
    keys = {identity.split("|", 1)[1] for identity in record["roles"]}
    keys |= set(record["owners"])
    keys |= {f"P#{pid}" for pid in record["beneficial_owners"]}
    return keys
