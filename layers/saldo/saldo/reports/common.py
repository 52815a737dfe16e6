"""What every report shares: parameter parsing, filters as SQL, fiscal-year arithmetic, row grouping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from saldo.errors import BadRequest
from saldo.ledger.models import DIMENSION_TYPES
from saldo.ledger.query import LedgerView, reconciled_as_of

ZERO = Decimal("0.00")


def parse_dimensions(value: str | None) -> dict[str, set[int]]:
    """`project:1,department:2` → {"project": {1}, "department": {2}}; a bad tuple is a 400 naming it."""
    out: dict[str, set[int]] = {}
    if not value:
        return out
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        dim_type, sep, dim_id = part.partition(":")
        if (
            not sep
            or dim_type not in DIMENSION_TYPES
            or not (dim_id.isascii() and dim_id.isdigit())
            or len(dim_id) > 18
        ):
            raise BadRequest(
                f"Invalid dimension '{part}': use type:id with type one of {', '.join(DIMENSION_TYPES)}"
            )
        out.setdefault(dim_type, set()).add(int(dim_id))
    return out


def parse_list(value: str | None, name: str) -> list[str]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    for item in items:
        if not item.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise BadRequest(f"Invalid value '{item}' in {name}")
    return items


def check_group_by(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in DIMENSION_TYPES:
        raise BadRequest(f"Invalid group_by_dimension '{value}': use one of {', '.join(DIMENSION_TYPES)}")
    return value


def check_period(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise BadRequest(f"date_from {date_from} is after date_to {date_to}")


def fiscal_year_start(day: date, start_month: int) -> date:
    year = day.year if day.month >= start_month else day.year - 1
    return date(year, start_month, 1)


@dataclass
class LineFilter:
    """Which ledger lines a report reads. Dates are inclusive."""

    date_from: date | None = None
    date_to: date | None = None
    include_drafts: bool = False
    include_cancelled: bool = True
    include_reconciled: bool = True
    dimensions: dict[str, set[int]] = field(default_factory=dict)
    account_codes: list[str] = field(default_factory=list)
    account_prefixes: list[str] = field(default_factory=list)
    tax_codes: list[str] = field(default_factory=list)
    free_text: str | None = None
    business_partner_id: int | None = None
    only_tax_lines: bool = False
    # Open items: a line counts as cancelled from the day its cancellation settles it (`settled_on`),
    # so a report as of an earlier day shows it as the ageing counts it.
    cancelled_as_of: bool = False

    def table(self) -> str:
        """`daily` (the per-day aggregate) when only dates, drafts and accounts filter, else `lines`."""
        line_level = (
            self.dimensions
            or self.tax_codes
            or self.free_text
            or self.business_partner_id is not None
            or self.only_tax_lines
            or self.account_prefixes
            or not self.include_cancelled
            or not self.include_reconciled
        )
        return "lines" if line_level else "daily"

    def sql(self, alias: str = "l", reconciled_until: date | None = None) -> tuple[str, list[Any]]:
        """The WHERE condition and its parameters. A line counts as reconciled by the reconciliations
        that count on or before `date_to` (`reconciled_until`: the view's latest, see reconciled_as_of).

        Lists are matched with `list_contains`, not `IN (SELECT unnest(?))`: no join, so a scan keeps the
        table's order (general-ledger pages rely on it) and the filter is cheaper. Only free text needs
        subqueries (partner names).
        """
        a = alias
        where: list[str] = []
        params: list[Any] = []
        if self.date_from:
            where.append(f"{a}.posting_date >= ?")
            params.append(self.date_from)
        if self.date_to:
            where.append(f"{a}.posting_date <= ?")
            params.append(self.date_to)
        if not self.include_drafts:
            where.append(f"NOT {a}.is_draft")
        if not self.include_cancelled and self.cancelled_as_of and self.date_to:
            where.append(f"NOT ({a}.cancelled AND coalesce({a}.settled_on <= ?, true))")
            params.append(self.date_to)
        elif not self.include_cancelled:
            where.append(f"NOT {a}.cancelled")
        if not self.include_reconciled:
            reconciled, reconciled_params = reconciled_as_of(a, self.date_to, reconciled_until)
            where.append(f"NOT ({a}.amount <> 0 AND {reconciled} >= abs({a}.amount))")
            params.extend(reconciled_params)
        for dim_type, ids in sorted(self.dimensions.items()):
            keys = [f"{dim_type}:{i}" for i in sorted(ids)]
            where.append(
                f"(({a}.relation_type = ? AND list_contains(?::BIGINT[], {a}.relation_id)) "
                f"OR list_has_any({a}.dimensions, ?::VARCHAR[]))"
            )
            params.extend([dim_type, sorted(ids), keys])
        if self.account_codes:
            where.append(f"list_contains(?::VARCHAR[], {a}.account_code)")
            params.append(self.account_codes)
        if self.account_prefixes:
            where.append(
                "(" + " OR ".join(f"starts_with({a}.account_code, ?)" for _ in self.account_prefixes) + ")"
            )
            params.extend(self.account_prefixes)
        if self.tax_codes:
            where.append(f"list_contains(?::VARCHAR[], {a}.tax_code)")
            params.append(self.tax_codes)
        if self.only_tax_lines:
            where.append(f"{a}.tax_code IS NOT NULL")
        if self.business_partner_id is not None:
            where.append(
                f"(({a}.relation_type = 'businesspartner' AND {a}.relation_id = ?) "
                f"OR {a}.ro_business_partner_id = ?)"
            )
            params.extend([self.business_partner_id, self.business_partner_id])
        if self.free_text:
            pattern = "%" + self.free_text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                f"(coalesce({a}.description, '') ILIKE ? ESCAPE '\\' OR coalesce({a}.entry_description, '') "
                f"ILIKE ? ESCAPE '\\' OR coalesce({a}.ro_document_number, '') ILIKE ? ESCAPE '\\' "
                f"OR {a}.ro_business_partner_id IN (SELECT id FROM partners WHERE name ILIKE ? ESCAPE '\\') "
                f"OR ({a}.relation_type = 'businesspartner' AND {a}.relation_id IN "
                f"(SELECT id FROM partners WHERE name ILIKE ? ESCAPE '\\')))"
            )
            params.extend([pattern] * 5)
        return (" AND ".join(where) if where else "true"), params


def dimension_value_sql(dim_type: str, alias: str = "l") -> str:
    """The id of a line's dimension of `dim_type`: its relation when of that type, else its first such tag."""
    return (
        f"CASE WHEN {alias}.relation_type = '{dim_type}' THEN {alias}.relation_id ELSE "
        f"TRY_CAST(split_part(list_filter({alias}.dimensions, lambda x: starts_with(x, '{dim_type}:'))[1], "
        f"':', 2) "
        f"AS BIGINT) END"
    )


def account_name(view: LedgerView, code: str) -> str:
    acc = view.master.accounts.get(code)
    return acc["name"] if acc else code


def account_id(view: LedgerView, code: str) -> int | None:
    acc = view.master.accounts.get(code)
    return acc["id"] if acc else None


def filter_to_dict(flt: LineFilter) -> dict[str, Any]:
    """A LineFilter as JSON-safe values (for a queued job)."""
    out = dict(vars(flt))
    out["date_from"] = flt.date_from.isoformat() if flt.date_from else None
    out["date_to"] = flt.date_to.isoformat() if flt.date_to else None
    out["dimensions"] = {k: sorted(v) for k, v in flt.dimensions.items()}
    return out


def filter_from_dict(data: dict[str, Any]) -> LineFilter:
    values = dict(data)
    values["date_from"] = date.fromisoformat(data["date_from"]) if data.get("date_from") else None
    values["date_to"] = date.fromisoformat(data["date_to"]) if data.get("date_to") else None
    values["dimensions"] = {k: set(v) for k, v in (data.get("dimensions") or {}).items()}
    return LineFilter(**values)
