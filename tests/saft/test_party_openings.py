"""A SAF-T file with opening balances per customer and supplier: after the import, the open-item reports
per party include each party's opening balance, so the parties add up to the control accounts at the
opening date and later (checked against the oracle); and an export gives back what the file said per
transaction (VoucherType) and per line (DueDate)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from saldo.ledger.query import open_view
from saldo.reports.common import LineFilter
from saldo.reports.documents import ledger_document
from saldo.reports.open_items import open_items_report
from saldo.saft.exporter import export_saft
from saldo.saft.importer import Importer, ImportRequest
from saldo.saft.safety import Source
from saldo.saft.writer import write_saft
from tests.reports.oracle import Oracle
from tests.saft.conftest import assert_valid_130
from tests.saft.stores import client_repo, ledger_store

D = Decimal
START = date(2025, 1, 1)
NS = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}
OPENING = {"1500": D("3000.00"), "1920": D("10000.00"), "2400": D("-1500.00"), "2050": D("-11500.00")}
PARTY_OPENING = {
    ("customer", "K1"): D("2000.00"),
    ("customer", "K2"): D("1000.00"),
    ("supplier", "L1"): D("-1500.00"),
}
# (id, date, VoucherType, [(account, amount, customer, supplier, DueDate)])
TRANSACTIONS: list[
    tuple[str, date, str | None, list[tuple[str, str, str | None, str | None, date | None]]]
] = [
    (
        "1",
        date(2025, 1, 15),
        "Faktura",
        [
            ("1500", "1250.00", "K3", None, date(2025, 2, 14)),
            ("3000", "-1000.00", None, None, None),
            ("2700", "-250.00", None, None, None),
        ],
    ),
    (
        "2",
        date(2025, 2, 1),
        "Bank",
        [("1920", "2000.00", None, None, None), ("1500", "-2000.00", "K1", None, None)],
    ),
    (
        "3",
        date(2025, 3, 1),
        "LF",
        [("6300", "800.00", None, None, None), ("2400", "-800.00", None, "L2", date(2025, 3, 31))],
    ),
    (
        "4",
        date(2025, 3, 10),
        None,
        [("2400", "1500.00", None, "L1", None), ("1920", "-1500.00", None, None, None)],
    ),
]
ACCOUNTS = [
    ("1500", "Kundefordringer"),
    ("1920", "Bankinnskudd"),
    ("2050", "Annen egenkapital"),
    ("2400", "Leverandørgjeld"),
    ("2700", "Utgående merverdiavgift"),
    ("3000", "Salgsinntekt"),
    ("6300", "Leie lokaler"),
]


def saft_file() -> bytes:
    moves: dict[str, Decimal] = {}
    party_moves: dict[tuple[str, str], Decimal] = {}
    debit = credit = D(0)
    for _id, _day, _vt, lines in TRANSACTIONS:
        for acc, amount, cid, sid, _due in lines:
            moves[acc] = moves.get(acc, D(0)) + D(amount)
            if cid or sid:
                party_moves[(cid or sid, acc)] = party_moves.get((cid or sid, acc), D(0)) + D(amount)
            debit += max(D(amount), D(0))
            credit += max(-D(amount), D(0))

    def party(kind: str, pid: str, name: str, account: str) -> dict[str, Any]:
        opening = PARTY_OPENING.get((kind, pid), D(0))
        return {
            "id": pid,
            "name": name,
            "balances": [
                {
                    "account_id": account,
                    "opening": opening,
                    "closing": opening + party_moves.get((pid, account), D(0)),
                }
            ],
        }

    def transactions():
        for tx_id, day, voucher_type, lines in TRANSACTIONS:
            yield {
                "id": tx_id,
                "period": day.month,
                "period_year": day.year,
                "date": day,
                "description": f"Bilag {tx_id}",
                "voucher_type": voucher_type,
                "lines": [
                    {
                        "record_id": str(n),
                        "account_id": acc,
                        "customer_id": cid,
                        "supplier_id": sid,
                        "description": f"Bilag {tx_id} linje {n}",
                        "amount": D(amount),
                        "due_date": due,
                    }
                    for n, (acc, amount, cid, sid, due) in enumerate(lines, start=1)
                ],
            }

    buf = io.BytesIO()
    write_saft(
        buf,
        header={
            "date_created": date(2026, 1, 15),
            "software_version": "test",
            "company": {"registration_number": "923609016", "name": "Åpningsbalanse AS"},
            "currency": "NOK",
            "selection_start": START,
            "selection_end": date(2025, 12, 31),
        },
        accounts=[
            {
                "id": a,
                "description": name,
                "grouping_category": "RF-1167",
                "grouping_code": "NA",
                "opening": OPENING.get(a, D(0)),
                "closing": OPENING.get(a, D(0)) + moves.get(a, D(0)),
            }
            for a, name in ACCOUNTS
        ],
        customers=[party("customer", f"K{i}", f"Kunde {i} AS", "1500") for i in (1, 2, 3)],
        suppliers=[party("supplier", f"L{i}", f"Leverandør {i} AS", "2400") for i in (1, 2)],
        tax_codes=[],
        analysis=[],
        totals=(len(TRANSACTIONS), debit, credit),
        journal=("GL", "Hovedbok", "GL"),
        transactions=transactions(),
    )
    return buf.getvalue()


def imported(xml: bytes) -> tuple[Any, Any]:
    store, repo = ledger_store(), client_repo()
    outcome = Importer(store, repo).run(
        ImportRequest("org_o", "imp_o", [Source("o.xml", len(xml), lambda: io.BytesIO(xml))])
    )
    assert outcome.status == "SUCCEEDED", outcome.errors
    return store, repo.get("org_o", outcome.client_account_id)


def report(view: Any, kind: str, day: date, partner: int | None) -> dict[str, Any]:
    return open_items_report(
        view,
        kind,  # type: ignore[arg-type]
        date_from=None,
        date_to=day,
        business_partner_id=partner,
        free_text=None,
        include_reconciled=True,
        include_drafts=False,
        include_cancelled=True,
        page_no=1,
        per_page=1000,
        aging="0,30,60",
        aging_basis="due_date",
        today=day,
    )


def test_parties_opening_balances_add_up_to_the_control_accounts(xsd130):
    xml = saft_file()
    assert_valid_130(xsd130, xml)
    store, account = imported(xml)
    view = open_view(store, "org_o", account)
    partners = {
        (kind, rec[f"{kind}_id"]): int(pid)
        for pid, rec in view.master.saft["partners"].items()
        for kind in ("customer", "supplier")
        if rec.get(f"{kind}_id")
    }
    # The oracle: the chart's openings, each party's share, and the file's entries.
    oracle = Oracle([{"code": c, "opening_balance": str(v)} for c, v in OPENING.items()])
    oracle.opening_date = START
    for (kind, saft_id), amount in PARTY_OPENING.items():
        oracle.party_opening[(partners[(kind, saft_id)], "1500" if kind == "customer" else "2400")] = amount
    for _id, day, _vt, lines in TRANSACTIONS:
        due = next((d for *_rest, d in lines if d), None)
        oracle.add(
            {
                "posting_date": day.isoformat(),
                "related_object": {"due_date": due.isoformat()} if due else {},
                "lines": [
                    {
                        "account_code": acc,
                        "debit": amount if D(amount) > 0 else "0",
                        "credit": str(-D(amount)) if D(amount) < 0 else "0",
                        **(
                            {"relation_type": "businesspartner", "relation_id": partners[("customer", cid)]}
                            if cid
                            else {
                                "relation_type": "businesspartner",
                                "relation_id": partners[("supplier", sid)],
                            }
                            if sid
                            else {}
                        ),
                    }
                    for acc, amount, cid, sid, _due in lines
                ],
            }
        )
    edges = [0, 30, 60]
    for kind, code, role in (("receivable", "1500", "customer"), ("payable", "2400", "supplier")):
        pids = [pid for (k, _s), pid in partners.items() if k == role]
        for day in (START, date(2025, 1, 31), date(2025, 2, 1), date(2025, 3, 10), date(2025, 12, 31)):
            whole = report(view, kind, day, None)["summary"]
            assert whole["control_account_balance"] == oracle.balance(code, day)
            assert all(b["bucket"] != "opening_balance" for b in whole["aging"]), (
                kind,
                day,
            )  # all attributed
            total = D(0)
            for pid in pids:
                body = report(view, kind, day, pid)
                summary = body["summary"]
                assert summary["control_account_balance"] == oracle.party_balance(code, pid, day), (
                    kind,
                    day,
                    pid,
                )
                got = {b["bucket"]: b["amount"] for b in summary["aging"] if b["amount"]}
                assert got == {k: v for k, v in oracle.ageing(code, day, edges, partner=pid).items() if v}
                total += summary["control_account_balance"]
            assert total == oracle.balance(code, day), (kind, day)
    # The opening items are rows of their party, dated the opening date.
    k1 = partners[("customer", "K1")]
    rows = report(view, "receivable", START, k1)["data"]
    import json

    rows = json.loads(str(rows))
    assert [(r["posting_date"], r["debit_amount"], r["description"]) for r in rows] == [
        (START.isoformat(), 2000.0, "Opening balance")
    ]
    assert rows[0]["id"] is None and rows[0]["relation_id"] == k1
    # The documents (PDF, Excel, HTML) carry the same row, under its party, with its open amount.
    flt = LineFilter(date_to=START, account_codes=["1500"], business_partner_id=k1)
    doc = ledger_document(view, "accounts-receivable", flt, "en", {})
    details = [r.cells for r in doc.iter_rows() if r.kind == "detail"]
    assert [(c["description"], c["open_amount"]) for c in details] == [("Opening balance", D("2000.00"))]


def test_round_trip_keeps_voucher_types_and_due_dates_per_line(xsd130):
    from lxml import etree

    xml = saft_file()
    store, account = imported(xml)
    buf = io.BytesIO()
    export_saft(
        open_view(store, "org_o", account),
        buf,
        date_from=START,
        date_to=date(2025, 12, 31),
        created=datetime(2026, 1, 16, 9, 0),
        software_version="t",
    )
    exported = assert_valid_130(xsd130, buf.getvalue())

    def shape(doc: Any) -> list[tuple[str | None, list[str | None]]]:
        return [
            (
                tx.findtext("s:VoucherType", namespaces=NS),
                [ln.findtext("s:DueDate", namespaces=NS) for ln in tx.iterfind("s:Line", NS)],
            )
            for tx in doc.iterfind(".//s:Transaction", NS)
        ]

    want = [(vt, [d.isoformat() if d else None for *_r, d in lines]) for _id, _day, vt, lines in TRANSACTIONS]
    assert shape(etree.fromstring(xml)) == want
    assert shape(exported) == want
    # The parties' opening balances go back out as they came in.
    openings = {
        (p.findtext("s:CustomerID", namespaces=NS) or p.findtext("s:SupplierID", namespaces=NS)): (
            p.findtext("s:BalanceAccount/s:OpeningDebitBalance", namespaces=NS)
            or "-" + p.findtext("s:BalanceAccount/s:OpeningCreditBalance", namespaces=NS)
        )
        for p in exported.iterfind(".//s:Customer", NS)
    }
    assert openings["K1"] == "2000.00" and openings["K2"] == "1000.00"
