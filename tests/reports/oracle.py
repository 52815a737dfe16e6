"""An independent fold over posted entries: what the reports must say, computed without SQL.

It knows nothing of the report modules; it restates the accounting rules plainly:
balance-sheet accounts (classes 1-2) accumulate from the opening balance; result accounts restart each
fiscal year, and earlier years' results sit in equity.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

ZERO = Decimal("0.00")


def fy_start(day: date, month: int) -> date:
    return date(day.year if day.month >= month else day.year - 1, month, 1)


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


class Oracle:
    def __init__(self, chart: list[dict[str, Any]], fy_month: int = 1) -> None:
        self.opening = {a["code"]: Decimal(a.get("opening_balance", "0")) for a in chart}
        self.fy_month = fy_month
        self.lines: list[dict[str, Any]] = []  # posted, non-draft lines
        # (line id, amount matched, day it counts from): a reconciliation settles nothing before its day.
        self.reconciliations: list[tuple[int, Decimal, date]] = []
        # (partner id, account code) -> a party's share of the account's opening balance
        self.party_opening: dict[tuple[int, str], Decimal] = {}

    def add(
        self,
        entry: dict[str, Any],
        *,
        draft: bool = False,
        cancelled: bool = False,
        line_ids: list[int] | None = None,
    ) -> None:
        ro = entry.get("related_object") or {}
        for i, line in enumerate(entry["lines"]):
            posted = date.fromisoformat(entry["posting_date"])
            partner = line.get("relation_id") if line.get("relation_type") == "businesspartner" else None
            self.lines.append(
                {
                    "id": line_ids[i] if line_ids else None,
                    "date": posted,
                    "code": line["account_code"],
                    "debit": Decimal(line.get("debit", "0")),
                    "credit": Decimal(line.get("credit", "0")),
                    "draft": draft or entry.get("is_draft", False),
                    "cancelled": cancelled,
                    "tax_code": line.get("tax_code"),
                    "tax_base": Decimal(line.get("tax_base_amount") or "0"),
                    "tax": Decimal(line.get("tax_amount") or "0"),
                    "partner": partner if partner is not None else ro.get("business_partner_id"),
                    "document_date": _day(ro.get("document_date")),
                    "due_date": _day(ro.get("due_date")),
                }
            )

    def cancel(self, original: list[int], reversal: list[int], on: date) -> None:
        """An entry (its line ids) cancelled by a reversal (its line ids) dated `on`: the two settle each
        other from the later of their dates, and are no open items from then on."""
        ids = set(original) | set(reversal)
        dates = [ln["date"] for ln in self.lines if ln["id"] in set(original)] + [on]
        for ln in self.lines:
            if ln["id"] in ids:
                ln["cancelled"] = True
                ln["settled_on"] = max(dates)

    def settled(self, ln: dict[str, Any], as_of: date) -> bool:
        return ln.get("settled_on") is not None and ln["settled_on"] <= as_of

    def reconcile(self, matches: list[tuple[int, str | Decimal]], on: date) -> None:
        """Lines matched (by id, positive amounts) by a reconciliation that counts from `on`."""
        for line_id, amount in matches:
            self.reconciliations.append((line_id, Decimal(amount), on))

    # ---------------------------------------------------------- open items
    def reconciled(self, line_id: int, as_of: date | None) -> Decimal:
        return sum(
            (a for i, a, on in self.reconciliations if i == line_id and (as_of is None or on <= as_of)),
            ZERO,
        )

    def open_items(self, code: str, as_of: date, partner: int | None = None) -> dict[int | None, Decimal]:
        """Each posted line's open amount on `code` as of the day (signed, debit positive)."""
        out: dict[int | None, Decimal] = {}
        for ln in self._posted():
            if ln["code"] != code or ln["date"] > as_of or (partner is not None and ln["partner"] != partner):
                continue
            amount = ln["debit"] - ln["credit"]
            rec = self.reconciled(ln["id"], as_of) if ln["id"] is not None else ZERO
            out[ln["id"]] = ZERO if self.settled(ln, as_of) else amount - rec if amount >= 0 else amount + rec
        return out

    def ageing(
        self, code: str, as_of: date, edges: list[int], partner: int | None = None, basis: str = "due_date"
    ) -> dict[str, Decimal]:
        """Open amounts by age in days past the due date (else document date, else posting date); a
        party's opening balance ages from `opening_date`; the rest of the account's opening is a bucket."""
        labels = ["not_due"] + [f"{lo + 1}-{hi}" for lo, hi in pairwise(edges)] + [f"{edges[-1] + 1}+"]
        out = dict.fromkeys(labels, ZERO)

        def put(day: date, amount: Decimal) -> None:
            days = (as_of - day).days
            if days <= edges[0]:
                out["not_due"] += amount
                return
            for lo, hi in pairwise(edges):
                if lo < days <= hi:
                    out[f"{lo + 1}-{hi}"] += amount
                    return
            out[labels[-1]] += amount

        for ln in self._posted():
            if ln["code"] != code or ln["date"] > as_of or (partner is not None and ln["partner"] != partner):
                continue
            amount = ln["debit"] - ln["credit"]
            rec = self.reconciled(ln["id"], as_of) if ln["id"] is not None else ZERO
            due = (ln["due_date"] if basis == "due_date" else None) or ln["document_date"] or ln["date"]
            if not self.settled(ln, as_of):
                put(due, amount - rec if amount >= 0 else amount + rec)
        attributed = ZERO
        for (pid, c), amount in self.party_opening.items():
            if c == code and (partner is None or pid == partner) and self.opening_date <= as_of:
                put(self.opening_date, amount)
                attributed += amount
        if partner is None and self.opening.get(code, ZERO) - attributed:
            out["opening_balance"] = self.opening.get(code, ZERO) - attributed
        return out

    opening_date: date = date.min

    def party_balance(self, code: str, partner: int, day: date) -> Decimal:
        """A party's balance on a control account: its opening share and its lines up to the day."""
        opening = self.party_opening.get((partner, code), ZERO) if self.opening_date <= day else ZERO
        return opening + sum(
            (
                ln["debit"] - ln["credit"]
                for ln in self._posted()
                if ln["code"] == code and ln["partner"] == partner and ln["date"] <= day
            ),
            ZERO,
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
