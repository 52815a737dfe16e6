"""Master data of one client account: chart of accounts, tax codes, dimensions, business partners.

Held as one document (versioned with the ledger manifest), so a report or a posting reads all of it
in one go. Upserts are pure functions from (document, changes) to a new document.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from saldo.ledger.accountplan import derive_grouping
from saldo.ledger.models import AccountIn, BusinessPartnerIn, DimensionIn, TaxCodeIn


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
    def upsert_accounts(self, accounts: list[AccountIn]) -> list[dict[str, Any]]:
        out = []
        for acc in accounts:
            existing = self.accounts.get(acc.code)
            account_id = existing["id"] if existing else self.next_account_id
            if not existing:
                self.next_account_id += 1
            record = acc.model_dump(mode="python")
            record["id"] = account_id
            record["grouping"] = {
                k: v for k, v in (record.get("grouping") or {}).items() if v is not None
            } or None
            self.accounts[acc.code] = record
            out.append(record)
        return out

    def upsert_tax_codes(self, codes: list[TaxCodeIn]) -> list[dict[str, Any]]:
        out = []
        for tc in codes:
            record = tc.model_dump(mode="python")
            self.tax_codes[tc.code] = record
            out.append(record)
        return out

    def upsert_dimensions(self, dims: list[DimensionIn]) -> list[dict[str, Any]]:
        out = []
        for dim in dims:
            record = dim.model_dump(mode="python")
            self.dimensions[f"{dim.type}:{dim.id}"] = record
            out.append(record)
        return out

    def upsert_business_partners(self, partners: list[BusinessPartnerIn]) -> list[dict[str, Any]]:
        out = []
        for bp in partners:
            record = bp.model_dump(mode="python")
            self.business_partners[bp.id] = record
            # A business partner is also the dimension `businesspartner:<id>`.
            self.dimensions[f"businesspartner:{bp.id}"] = {
                "type": "businesspartner",
                "id": bp.id,
                "name": bp.name,
                "code": None,
                "active": True,
            }
            out.append(record)
        return out

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
        names = {c: a["name"] for c, a in self.accounts.items()}
        derived = derive_grouping(code, names, lang).as_dict()
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
