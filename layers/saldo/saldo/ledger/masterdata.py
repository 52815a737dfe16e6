"""Master data of one client account: chart of accounts, tax codes, dimensions, business partners.

Held as one document (versioned with the ledger manifest), so a report or a posting reads all of it
in one go. Upserts are pure functions from (document, changes) to a new document.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from saldo.errors import Unprocessable
from saldo.ledger.accountplan import derive_grouping, level_3_code
from saldo.ledger.models import AccountIn, BusinessPartnerIn, DimensionIn, TaxCodeIn

LIST_KINDS = ("accounts", "tax_codes", "dimensions", "business_partners")


@dataclass
class UpsertSummary:
    """What a bulk upsert did, item by item (an item repeated in one request is compared with its copy)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def records(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def count(self, old: Any, new: Any) -> None:
        if old is None:
            self.created += 1
        elif _canonical(old) == _canonical(new):
            self.unchanged += 1
        else:
            self.updated += 1

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@functools.lru_cache(maxsize=8192)
def _derived_grouping(prefix: str, level_3_name: str | None, lang: str) -> dict[str, str]:
    """The derived levels, shared by every account of a sub-group (callers copy, never change it)."""
    names = {level_3_code(prefix): level_3_name} if level_3_name is not None else None
    return derive_grouping(prefix, names, lang).as_dict()


def _canonical(record: Any) -> str:
    # Stored records come back from JSON (dates as text, Decimal rebuilt); compare as they are stored.
    return json.dumps(record, default=str, sort_keys=True, separators=(",", ":"))


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _merged(existing: dict[str, Any] | None, item: BaseModel) -> dict[str, Any]:
    """The record an upserted item makes: a new key takes the item whole (defaults included); a stored
    one keeps every field the item leaves out and takes those it sends (null included), like a PATCH."""
    if existing is None:
        return item.model_dump(mode="python")
    return {**existing, **item.model_dump(mode="python", include=item.model_fields_set)}


@dataclass
class MasterData:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by code
    tax_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by own code
    dimensions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by "type:id"
    business_partners: dict[int, dict[str, Any]] = field(default_factory=dict)  # by id
    next_account_id: int = 1
    # SAF-T ids and details with no place in the records above (saldo.saft.mapping), kept for exports.
    saft: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------- serialisation
    def to_json(self) -> bytes:
        doc = {
            "accounts": self.accounts,
            "tax_codes": self.tax_codes,
            "dimensions": self.dimensions,
            "business_partners": {str(k): v for k, v in self.business_partners.items()},
            "next_account_id": self.next_account_id,
        }
        if self.saft:
            doc["saft"] = self.saft
        return json.dumps(doc, default=str, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | None) -> MasterData:
        if not raw:
            return cls()
        doc = json.loads(raw, parse_float=Decimal)
        for acc in doc["accounts"].values():
            acc["opening_balance"] = Decimal(acc["opening_balance"])
        for tc in doc["tax_codes"].values():
            tc["rate"] = Decimal(tc["rate"])
            tc["base_rate"] = Decimal(tc["base_rate"])
        return cls(
            accounts=doc["accounts"],
            tax_codes=doc["tax_codes"],
            dimensions=doc["dimensions"],
            business_partners={int(k): v for k, v in doc["business_partners"].items()},
            next_account_id=doc["next_account_id"],
            saft=doc.get("saft") or {},
        )

    def copy(self) -> MasterData:
        return copy.deepcopy(self)

    # ---------------------------------------------------------- upserts
    def upsert_accounts(self, accounts: list[AccountIn]) -> UpsertSummary:
        summary = UpsertSummary()
        for acc in accounts:
            existing = self.accounts.get(acc.code)
            account_id = existing["id"] if existing else self.next_account_id
            if not existing:
                self.next_account_id += 1
            record = _merged(existing, acc)
            record["id"] = account_id
            record["grouping"] = {
                k: v for k, v in (record.get("grouping") or {}).items() if v is not None
            } or None
            summary.count(existing, record)
            self.accounts[acc.code] = record
        return summary

    def upsert_tax_codes(self, codes: list[TaxCodeIn]) -> UpsertSummary:
        summary = UpsertSummary()
        for tc in codes:
            existing = self.tax_codes.get(tc.code)
            record = _merged(existing, tc)
            start, end = (_day(record.get(k)) for k in ("valid_from", "valid_to"))
            if start and end and end < start:  # the merged validity must still be a period
                raise Unprocessable(
                    f"Tax code {tc.code}: valid_to {end} is before valid_from {start}",
                    details=[{"field": "valid_to", "message": f"{end} is before valid_from {start}"}],
                )
            summary.count(existing, record)
            self.tax_codes[tc.code] = record
        return summary

    def upsert_dimensions(self, dims: list[DimensionIn]) -> UpsertSummary:
        summary = UpsertSummary()
        for dim in dims:
            key = f"{dim.type}:{dim.id}"
            record = _merged(self.dimensions.get(key), dim)
            summary.count(self.dimensions.get(key), record)
            self.dimensions[key] = record
        return summary

    def upsert_business_partners(self, partners: list[BusinessPartnerIn]) -> UpsertSummary:
        summary = UpsertSummary()
        for bp in partners:
            existing = self.business_partners.get(bp.id)
            record = _merged(existing, bp)
            # A business partner is also the dimension `businesspartner:<id>`.
            dimension = {
                "type": "businesspartner",
                "id": bp.id,
                "name": record["name"],
                "code": None,
                "active": True,
            }
            key = f"businesspartner:{bp.id}"
            summary.count(
                None if existing is None else (existing, self.dimensions.get(key)), (record, dimension)
            )
            self.business_partners[bp.id] = record
            self.dimensions[key] = dimension
        return summary

    # ---------------------------------------------------------- lists
    def count(self, kind: str) -> int:
        return len(self._store(kind))

    def page(self, kind: str, *, page: int, per_page: int) -> list[dict[str, Any]]:
        """One page of a master-data list (1-based), in a stable order: accounts by code, business
        partners by id, tax codes and dimensions in the order they were first stored. Only the page's
        records are built (an account's derived grouping is one lookup), so a page costs its size, not
        the chart's."""
        store = self._store(kind)
        start = (page - 1) * per_page
        if start >= len(store):
            return []
        if kind == "accounts":
            codes = sorted(self.accounts)[start : start + per_page]
            return [{**self.accounts[c], "code": c, "grouping": self.grouping(c)} for c in codes]
        if kind == "business_partners":
            return [
                self.business_partners[k] for k in sorted(self.business_partners)[start : start + per_page]
            ]
        return list(itertools.islice(store.values(), start, start + per_page))

    def _store(self, kind: str) -> dict[Any, dict[str, Any]]:
        if kind not in LIST_KINDS:
            raise ValueError(f"unknown master data kind {kind!r}")
        return getattr(self, kind)

    # ---------------------------------------------------------- lookups
    def has_dimension(self, dim_type: str, dim_id: int) -> bool:
        return f"{dim_type}:{dim_id}" in self.dimensions

    def dimension_name(self, dim_type: str, dim_id: int) -> str | None:
        dim = self.dimensions.get(f"{dim_type}:{dim_id}")
        return dim["name"] if dim else None

    def tax_code_valid_on(self, code: str, day: date) -> bool:
        tc = self.tax_codes.get(code)
        if tc is None:
            return False
        start, end = tc.get("valid_from"), tc.get("valid_to")
        start = date.fromisoformat(start) if isinstance(start, str) else start
        end = date.fromisoformat(end) if isinstance(end, str) else end
        return (start is None or day >= start) and (end is None or day <= end)

    def grouping(self, code: str, lang: str = "en") -> dict[str, str]:
        """The account's grouping: given levels win, the rest derive from the code."""
        # Only the sub-group's own account can name level 3: one lookup, not a map of the whole chart
        # (which made every report over a big chart quadratic).
        sub = self.accounts.get(level_3_code(code))
        derived = _derived_grouping(code[:4], sub["name"] if sub else None, lang)
        given = (self.accounts.get(code) or {}).get("grouping") or {}
        return {**derived, **{k: v for k, v in given.items() if v}}

    def opening_balance_total(self) -> Decimal:
        return sum((a["opening_balance"] for a in self.accounts.values()), Decimal("0.00"))

    def party_openings(self) -> tuple[date | None, dict[tuple[int, str], Decimal]]:
        """Business partners' shares of accounts' opening balances, {(partner id, account code): amount},
        and the day they are dated (None: unknown). A SAF-T import keeps them with the parties' SAF-T
        details (`saft.partners[<id>].opening`, from each Customer/Supplier BalanceAccount)."""
        saft = self.saft or {}
        out: dict[tuple[int, str], Decimal] = {}
        for pid, rec in (saft.get("partners") or {}).items():
            for code, amount in ((rec or {}).get("opening") or {}).items():
                if Decimal(amount):
                    out[(int(pid), code)] = Decimal(amount)
        day = saft.get("opening_date")
        return (date.fromisoformat(day) if day else None), out
