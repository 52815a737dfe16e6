"""An independent fold over posted entries: what the reports must say, computed without SQL.

It knows nothing of the report modules; it restates the accounting rules plainly:
balance-sheet accounts (classes 1-2) accumulate from the opening balance; result accounts restart each
fiscal year, and earlier years' results sit in equity.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")


def fy_start(day: date, month: int) -> date:
    return date(day.year if day.month >= month else day.year - 1, month, 1)


class Oracle:
    def __init__(self, chart: list[dict[str, Any]], fy_month: int = 1) -> None:
        self.opening = {a["code"]: Decimal(a.get("opening_balance", "0")) for a in chart}
        self.fy_month = fy_month
        self.lines: list[dict[str, Any]] = []  # posted, non-draft lines

    def add(self, entry: dict[str, Any], *, draft: bool = False, cancelled: bool = False) -> None:
        for line in entry["lines"]:
            self.lines.append(
                {
                    "date": date.fromisoformat(entry["posting_date"]),
                    "code": line["account_code"],
                    "debit": Decimal(line.get("debit", "0")),
                    "credit": Decimal(line.get("credit", "0")),
                    "draft": draft or entry.get("is_draft", False),
                    "cancelled": cancelled,
                    "tax_code": line.get("tax_code"),
                    "tax_base": Decimal(line.get("tax_base_amount") or "0"),
                    "tax": Decimal(line.get("tax_amount") or "0"),
                }
            )

    def _posted(self) -> list[dict[str, Any]]:
        return [ln for ln in self.lines if not ln["draft"]]

    def trial_balance(self, d_from: date, d_to: date) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]:
        start = fy_start(d_from, self.fy_month)
        out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
        prior = ZERO
        for code, opening in self.opening.items():
            if code[0] in "12":
                out[code][0] += opening
            else:
                prior += opening
        for ln in self._posted():
            amount = ln["debit"] - ln["credit"]
            bs = ln["code"][0] in "12"
            if ln["date"] < d_from:
                if bs or ln["date"] >= start:
                    out[ln["code"]][0] += amount
                else:
                    prior += amount
            elif ln["date"] <= d_to:
                out[ln["code"]][1] += ln["debit"]
                out[ln["code"]][2] += ln["credit"]
        if prior:
            out["8960"][0] += prior
        return {c: (i, d, cr, i + d - cr) for c, (i, d, cr) in out.items()}

    def balance_sheet(self, day: date) -> dict[str, Decimal]:
        start = fy_start(day, self.fy_month)
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for code, opening in self.opening.items():
            out[code if code[0] in "12" else "8960"] += opening
        for ln in self._posted():
            if ln["date"] > day:
                continue
            amount = ln["debit"] - ln["credit"]
            if ln["code"][0] in "12":
                out[ln["code"]] += amount
            else:
                out["8800" if ln["date"] >= start else "8960"] += amount
        return {c: v for c, v in out.items() if v or c[0] in "12"}

    def income_statement(self, d_from: date, d_to: date) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        for ln in self._posted():
            if ln["code"][0] in "12" or not d_from <= ln["date"] <= d_to:
                continue
            months = out.setdefault(ln["code"], {str(m): ZERO for m in range(1, 13)})
            months[str(ln["date"].month)] += ln["debit"] - ln["credit"]
        return out

    def balance(self, code: str, day: date) -> Decimal:
        return self.opening.get(code, ZERO) + sum(
            (ln["debit"] - ln["credit"] for ln in self._posted() if ln["code"] == code and ln["date"] <= day),
            ZERO,
        )

    def vat_posted(self, d_from: date, d_to: date) -> dict[str, tuple[Decimal, Decimal]]:
        out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for ln in self._posted():
            if ln["tax_code"] and d_from <= ln["date"] <= d_to:
                out[ln["tax_code"]][0] += ln["tax_base"]
                out[ln["tax_code"]][1] += ln["tax"]
        return {k: (b, t) for k, (b, t) in out.items()}
