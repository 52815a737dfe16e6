"""Synthetic SAF-T Financial 1.30 files of any size, written with the streaming writer (for tests and
benchmarks): a small chart, customers, suppliers, a tax table, two analysis types, and sales and purchase
vouchers that balance. Deterministic for a given seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from saldo.saft.writer import write_saft

ACCOUNTS = [
    ("1500", "Kundefordringer", "balanseverdiForOmloepsmiddel", "1500"),
    ("1920", "Bankinnskudd", "balanseverdiForOmloepsmiddel", "1920"),
    ("2050", "Annen egenkapital", "egenkapital", "2050"),
    ("2400", "Leverandørgjeld", "kortsiktigGjeld", "2400"),
    ("2700", "Utgående merverdiavgift", "kortsiktigGjeld", "2740"),
    ("2710", "Inngående merverdiavgift", "kortsiktigGjeld", "2740"),
    ("3000", "Salgsinntekt, avgiftspliktig", "salgsinntekt", "3000"),
    ("4000", "Innkjøp av varer", "varekostnad", "4005"),
    ("6300", "Leie lokaler", "annenDriftskostnad", "6300"),
]
OPENING = {"1920": Decimal("100000.00"), "2050": Decimal("-100000.00")}


def generate(
    out: BinaryIO, transactions: int, *, regno: str = "923609016", seed: int = 7, year: int = 2025
) -> dict[str, Any]:
    rng = random.Random(seed)
    customers = [(f"K{i}", f"Kunde {i} AS") for i in range(1, 21)]
    suppliers = [(f"L{i}", f"Leverandør {i} AS") for i in range(1, 11)]
    movements: dict[str, Decimal] = {}
    party_moves: dict[tuple[str, str], Decimal] = {}

    def plan() -> Iterator[tuple[str, date, list[tuple[str, Decimal, dict[str, Any]]]]]:
        rng.seed(seed)
        start = date(year, 1, 1)
        for n in range(1, transactions + 1):
            day = start + timedelta(days=((n - 1) * 365) // max(transactions, 1))
            net = (
                Decimal(rng.randint(100, 100000)).quantize(Decimal("0.01"))
                + Decimal(rng.randint(0, 99)) / 100
            )
            vat = (net * Decimal("0.25")).quantize(Decimal("0.01"))
            if n % 2:
                cid = customers[n % len(customers)][0]
                lines = [
                    ("1500", net + vat, {"customer_id": cid, "reference_number": str(10000 + n)}),
                    (
                        "3000",
                        -net,
                        {"tax": ("3", Decimal(25), -net, -vat), "analysis": [("AVD", str(n % 3 + 1))]},
                    ),
                    ("2700", -vat, {}),
                ]
            else:
                sid = suppliers[n % len(suppliers)][0]
                lines = [
                    (
                        "4000",
                        net,
                        {"tax": ("1", Decimal(25), net, vat), "analysis": [("PRO", str(n % 4 + 1))]},
                    ),
                    ("2710", vat, {}),
                    ("2400", -(net + vat), {"supplier_id": sid, "reference_number": f"F{n}"}),
                ]
            yield str(n), day, lines

    def transactions_iter() -> Iterator[dict[str, Any]]:
        for tx_id, day, lines in plan():
            out_lines = []
            for i, (acc, amount, extra) in enumerate(lines, start=1):
                tax = extra.get("tax")
                out_lines.append(
                    {
                        "record_id": str(i),
                        "account_id": acc,
                        "analysis": extra.get("analysis", []),
                        "customer_id": extra.get("customer_id"),
                        "supplier_id": extra.get("supplier_id"),
                        "description": f"Bilag {tx_id} linje {i}",
                        "amount": amount,
                        "reference_number": extra.get("reference_number"),
                        "tax": {"code": tax[0], "percentage": tax[1], "base": tax[2], "amount": tax[3]}
                        if tax
                        else None,
                    }
                )
            yield {
                "id": tx_id,
                "period": day.month,
                "period_year": day.year,
                "date": day,
                "description": f"Bilag {tx_id}",
                "lines": out_lines,
            }

    # Totals and closing balances need one pass over the plan first (the file states them up front).
    debit = credit = Decimal(0)
    for _tx_id, _day, lines in plan():
        for acc, amount, extra in lines:
            movements[acc] = movements.get(acc, Decimal(0)) + amount
            party = extra.get("customer_id") or extra.get("supplier_id")
            if party:
                party_moves[(party, acc)] = party_moves.get((party, acc), Decimal(0)) + amount
            if amount > 0:
                debit += amount
            else:
                credit -= amount
    closing = {acc: OPENING.get(acc, Decimal(0)) + movements.get(acc, Decimal(0)) for acc, *_ in ACCOUNTS}
    final_party = dict(party_moves)
    write_saft(
        out,
        header={
            "date_created": date(year + 1, 1, 15),
            "software_version": "test",
            "company": {
                "registration_number": regno,
                "name": "Syntetisk AS",
                "contacts": [{"ContactPerson": {"FirstName": "Kari", "LastName": "Nordmann"}}],
            },
            "currency": "NOK",
            "selection_start": date(year, 1, 1),
            "selection_end": date(year, 12, 31),
        },
        accounts=[
            {
                "id": a,
                "description": d,
                "grouping_category": c,
                "grouping_code": g,
                "opening": OPENING.get(a, Decimal(0)),
                "closing": closing[a],
            }
            for a, d, c, g in ACCOUNTS
        ],
        customers=[
            {
                "id": cid,
                "name": name,
                "balances": [
                    {
                        "account_id": "1500",
                        "opening": Decimal(0),
                        "closing": final_party.get((cid, "1500"), Decimal(0)),
                    }
                ],
            }
            for cid, name in customers
        ],
        suppliers=[
            {
                "id": sid,
                "name": name,
                "balances": [
                    {
                        "account_id": "2400",
                        "opening": Decimal(0),
                        "closing": final_party.get((sid, "2400"), Decimal(0)),
                    }
                ],
            }
            for sid, name in suppliers
        ],
        tax_codes=[
            {"code": "1", "description": "Inngående mva", "percentage": 25, "standard_code": "1"},
            {"code": "3", "description": "Utgående mva", "percentage": 25, "standard_code": "3"},
        ],
        analysis=[
            {"type": "AVD", "type_description": "Avdeling", "id": str(i), "id_description": f"Avdeling {i}"}
            for i in range(1, 4)
        ]
        + [
            {"type": "PRO", "type_description": "Prosjekt", "id": str(i), "id_description": f"Prosjekt {i}"}
            for i in range(1, 5)
        ],
        totals=(transactions, debit, credit),
        journal=("GL", "Hovedbok", "GL"),
        transactions=transactions_iter(),
    )
    return {"transactions": transactions, "lines": transactions * 3, "debit": debit, "closing": closing}
