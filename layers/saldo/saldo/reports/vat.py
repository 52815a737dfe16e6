"""VAT (MVA) report per tax code for a period, in the shape of seeds/002, with reconciliation.

Per tax code: the base, the tax computed as base × rate (line by line, to the øre), the tax posted on the
lines, their difference, and the amounts the MVA-melding reports (research/saft.md §5):
- output codes report their VAT (payable, positive); input codes their deduction (negative);
- reverse-charge codes (81, 83, 86, 88, 91) report the computed VAT as acquisition tax and the posted
  deduction as input VAT; the codes without deduction (82, 84, 87, 89, 92) only the acquisition tax.
Sign convention of the ledger lines: debit positive, so output VAT is posted as a negative tax_amount.

Reconciliation: for each VAT account, the movement on the account in entries that carry tax codes is
compared with the tax amounts of the codes that post to it; a difference gets a note.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from saldo.ledger.query import LedgerView
from saldo.reports.common import ZERO, LineFilter, account_name

WITH_DEDUCTION = {"81", "83", "86", "88", "91"}
WITHOUT_DEDUCTION = {"82", "84", "87", "89", "92"}
CENT = Decimal("0.01")


def _split(amount: Decimal) -> tuple[Decimal, Decimal]:
    return (amount, ZERO) if amount >= 0 else (ZERO, -amount)


def vat_report(
    view: LedgerView, *, date_from: date, date_to: date, include_drafts: bool = False, lang: str = "en"
) -> dict[str, Any]:
    where, params = LineFilter(
        date_from=date_from, date_to=date_to, include_drafts=include_drafts, only_tax_lines=True
    ).sql()
    # One row per tax code, the per-line rounding done in SQL: DECIMAL × DECIMAL is exact and DuckDB's
    # round() on a DECIMAL rounds half away from zero, as ROUND_HALF_UP does. The factors (rate × base
    # rate / 10 000) are exact decimals computed here.
    factors = [
        (code, (Decimal(tc.get("rate", 0)) * Decimal(tc.get("base_rate", 100)) / Decimal(10000)))
        for code, tc in view.master.tax_codes.items()
    ]
    # The factor as a CASE over the codes, not a join: a join to a VALUES list made this scan 8× slower.
    factor_sql = "0"
    factor_params: list[Any] = []
    if factors:
        factor_sql = (
            "CASE l.tax_code "
            + " ".join(f"WHEN ? THEN {format(f, 'f')}::DECIMAL(18,10)" for _, f in factors)
            + " ELSE 0 END"
        )
        # The factors are written as literals (exact decimals made here) so DuckDB folds their casts.
        factor_params = [code for code, _ in factors]
    lines = view.rows(
        f"""
        SELECT l.tax_code,
               sum(CASE WHEN l.tax_base_amount > 0 THEN l.tax_base_amount ELSE 0 END),
               sum(CASE WHEN l.tax_base_amount < 0 THEN -l.tax_base_amount ELSE 0 END),
               sum(round(coalesce(l.tax_base_amount, 0) * {factor_sql}, 2)),
               sum(CASE WHEN l.tax_amount > 0 THEN l.tax_amount ELSE 0 END),
               sum(CASE WHEN l.tax_amount < 0 THEN -l.tax_amount ELSE 0 END)
        FROM lines l
        WHERE {where} GROUP BY l.tax_code""",
        [*factor_params, *params],
    )
    per_code: dict[str, dict[str, Any]] = {
        code: {
            "base+": Decimal(b_pos),
            "base-": Decimal(b_neg),
            "computed_total": Decimal(computed).quantize(CENT),
            "posted+": Decimal(t_pos),
            "posted-": Decimal(t_neg),
        }
        for code, b_pos, b_neg, computed, t_pos, t_neg in lines
    }
    rows = []
    total_tax = total_acq = ZERO
    for code in sorted(per_code, key=lambda c: (len(c), c)):
        agg = per_code[code]
        tc = view.master.tax_codes.get(code, {})
        std = str(tc.get("standard_tax_code") or code)
        posted = agg["posted+"] - agg["posted-"]
        computed = agg["computed_total"]
        tax_debit, tax_credit = _split(computed)
        difference = computed - posted
        rec_debit, rec_credit = _split(difference)
        if std in WITH_DEDUCTION:
            reportable, acquisition = -posted, abs(computed)
        elif std in WITHOUT_DEDUCTION:
            reportable, acquisition = ZERO, abs(computed)
        else:
            reportable, acquisition = -posted, ZERO
        note = None
        if std in WITH_DEDUCTION | WITHOUT_DEDUCTION:
            if std in WITH_DEDUCTION and abs(posted) > abs(computed):
                note = f"Deducted VAT {abs(posted)} exceeds the acquisition VAT {abs(computed)}"
        elif difference:
            note = (
                f"Posted VAT {posted} differs from base × rate {computed} by {difference}"
                if lang != "nb"
                else f"Bokført mva {posted} avviker fra grunnlag × sats {computed} med {difference}"
            )
        total_tax += reportable
        total_acq += acquisition
        rows.append(
            {
                "tax_code": {
                    "code": code,
                    "description": tc.get("description", code),
                    "tax_rate": tc.get("rate", ZERO),
                    "category": tc.get("direction", "none"),
                    "standard_tax_code": std,
                },
                "base_debit_amount": agg["base+"],
                "base_credit_amount": agg["base-"],
                "tax_debit_amount": tax_debit,
                "tax_credit_amount": tax_credit,
                "posted_tax_debit_amount": agg["posted+"],
                "posted_tax_credit_amount": agg["posted-"],
                "reconciliation_debit_amount": rec_debit,
                "reconciliation_credit_amount": rec_credit,
                "reportable_tax_amount": reportable,
                "reportable_acquisition_tax_amount": acquisition,
                "discrepancy_note": note,
            }
        )
    return {
        "period": {"date_from": date_from, "date_to": date_to},
        "rows": rows,
        "totals": {
            "reportable_tax_amount": total_tax,
            "reportable_acquisition_tax_amount": total_acq,
            "vat_payable": total_tax + total_acq,
        },
        "reconciliation": reconcile_accounts(
            view,
            date_from,
            date_to,
            include_drafts,
            lang,
            total_acq,
            {code: agg["posted+"] - agg["posted-"] for code, agg in per_code.items()},
        ),
    }


def output_account(view: LedgerView) -> str | None:
    """The account output VAT is posted to: the one most output tax codes name."""
    counts: dict[str, int] = {}
    for tc in view.master.tax_codes.values():
        if tc.get("direction") == "output" and tc.get("account_code"):
            counts[tc["account_code"]] = counts.get(tc["account_code"], 0) + 1
    return max(sorted(counts), key=lambda a: counts[a]) if counts else None


def reconcile_accounts(
    view: LedgerView,
    date_from: date,
    date_to: date,
    include_drafts: bool,
    lang: str,
    acquisition: Decimal,
    posted_by_code: dict[str, Decimal],
) -> list[dict[str, Any]]:
    """Per VAT account: movement in taxed entries against the tax amounts of the codes posting to it
    (`posted_by_code`: the lines' tax amounts per tax code in the period).

    Reverse-charge acquisition VAT is computed, not carried on a line, and is posted (as a credit) to the
    output VAT account, so that account is expected to move by the codes' tax amounts less it.
    """
    by_account: dict[str, list[str]] = {}
    for code, tc in view.master.tax_codes.items():
        if tc.get("account_code"):
            by_account.setdefault(tc["account_code"], []).append(code)
    if not by_account:
        return []
    out_account = output_account(view)
    where, params = LineFilter(date_from=date_from, date_to=date_to, include_drafts=include_drafts).sql()
    # One scan for every VAT account: its movement within entries that carry a tax code.
    moved_by_account = dict(
        view.rows(
            f"""
            SELECT l.account_code, sum(l.amount) FROM lines l
            WHERE {where} AND list_contains(?::VARCHAR[], l.account_code)
              AND l.entry_id IN (SELECT DISTINCT l.entry_id FROM lines l
                                 WHERE {where} AND l.tax_code IS NOT NULL)
            GROUP BY 1""",
            [*params, sorted(by_account), *params],
        )
    )
    out = []
    for account, codes in sorted(by_account.items()):
        moved = moved_by_account.get(account, ZERO)
        by_codes = sum((posted_by_code.get(c, ZERO) for c in codes), ZERO)
        acquired = acquisition if account == out_account else ZERO
        expected = Decimal(by_codes) - acquired
        difference = Decimal(moved) - expected
        if not difference:
            note = None
        elif lang == "nb":
            note = f"Kontoen er bevegd med {moved}, mens mva-beløpene på linjene tilsier {expected}"
        else:
            note = f"The account moved {moved} while the lines' tax amounts give {expected}"
        out.append(
            {
                "account_code": account,
                "account_name": account_name(view, account),
                "tax_codes": sorted(codes),
                "posted_on_account": moved,
                "tax_amount_of_codes": by_codes,
                "acquisition_tax": acquired,
                "difference": difference,
                "note": note,
            }
        )
    return out
