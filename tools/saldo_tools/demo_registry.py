"""The demo organization's company registry: a small group of related Danish and Norwegian companies that
shows every case of the ownership rules (docs/REGISTRY.md):

- a holding chain three levels deep (Anna Holm → Holm Invest → Nordlys Holding → Nordlys Drift);
- parallel paths (Bo Berg holds Fjeldsted Partner directly and through Nordlys Holding);
- a cycle (Kreds A and Kreds B own half of each other);
- a company where nobody qualifies (Spredt Eje: five owners of 20 %), so its management stands in;
- a listed parent (Nordisk Børs A/S) and its wholly owned subsidiary (exempt);
- the demo ledger's Norwegian company, owned by the Danish group and linked to its client account.

Registration numbers are fixed valid numbers, so the demo is the same on every start.
"""

from __future__ import annotations

from typing import Any

from saldo.ledger.regno import valid_danish_cvr
from saldo.registry.models import CompanyIn, PersonIn

EFFECTIVE = "2024-01-01"
CHANGED = "2026-03-01"  # Fjeldsted Partner's new managing director


def cvr(first7: int) -> str:
    """The first valid CVR number from `first7` on (a CVR is 7 digits and a check digit); the demo's seeds
    are ten apart, so two never land on one number."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    while True:
        digits = str(first7)
        check = -sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check < 10 and valid_danish_cvr(f"{digits}{check}"):
            return f"{digits}{check}"
        first7 += 1


HOLM_INVEST = cvr(3412010)
NORDLYS_HOLDING = cvr(3412020)
NORDLYS_DRIFT = cvr(3412030)
FJELDSTED = cvr(3412040)
KREDS_A = cvr(3412050)
KREDS_B = cvr(3412060)
SPREDT = cvr(3412070)
BORS = cvr(3412080)
BORS_DATTER = cvr(3412090)
AUDITOR = cvr(3412100)  # an audit firm outside the registry

PERSONS = {
    "anna-holm": {"name": "Anna Holm", "birth_year": 1968, "nationality": "DK"},
    "bo-berg": {"name": "Bo Berg", "birth_year": 1975, "nationality": "DK"},
    "carl-dahl": {"name": "Carl Dahl", "birth_year": 1981, "nationality": "DK"},
    "dina-eng": {"name": "Dina Eng", "birth_year": 1979, "nationality": "NO"},
    "erik-fjeld": {"name": "Erik Fjeld", "birth_year": 1990, "nationality": "NO"},
    "frida-gran": {"name": "Frida Gran", "birth_year": 1985, "nationality": "DK"},
    "gorm-hald": {"name": "Gorm Hald", "birth_year": 1959, "nationality": "DK", "pep": True},
}


def _person(pid: str, share: str | None = None, high: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"party": {"person_id": pid}, "name": PERSONS[pid]["name"]}
    if share:
        out["capital"] = out["votes"] = {"low": share, "high": high or share}
    return out


def _company(
    number: str, name: str, share: str, high: str | None = None, country: str = "DK"
) -> dict[str, Any]:
    share_range = {"low": share, "high": high or share}
    return {
        "party": {"country": country, "registration_number": number},
        "name": name,
        "capital": share_range,
        "votes": share_range,
    }


def _management(pid: str) -> dict[str, Any]:
    return {
        "role": "management",
        "party": {"person_id": pid},
        "name": PERSONS[pid]["name"],
        "title": "Direktør",
    }


def companies(
    no_company: tuple[str, str] | None, client_account_id: int | None
) -> list[tuple[str, str, dict]]:
    group = [
        (
            "DK",
            HOLM_INVEST,
            {
                "name": "Holm Invest ApS",
                "legal_form": "APS",
                "owners": [_person("anna-holm", "1")],
                "roles": [_management("anna-holm")],
            },
        ),
        (
            "DK",
            NORDLYS_HOLDING,
            {
                "name": "Nordlys Holding A/S",
                "legal_form": "A/S",
                "balance_day": "12-31",
                "owners": [
                    _company(HOLM_INVEST, "Holm Invest ApS", "0.50", "0.6666"),
                    _person("bo-berg", "0.3334", "0.4999"),
                ],
                "roles": [
                    _management("anna-holm"),
                    {"role": "chair", "party": {"person_id": "gorm-hald"}, "name": "Gorm Hald"},
                ],
                "registered_beneficial_owners": [
                    {"person_id": "anna-holm", "name": "Anna Holm", "registered_on": "2024-01-05"}
                ],
            },
        ),
        (
            "DK",
            NORDLYS_DRIFT,
            {
                "name": "Nordlys Drift A/S",
                "legal_form": "A/S",
                "balance_day": "12-31",
                "founded": "2012-03-01",
                "address": {
                    "street": "Havnegade 4",
                    "postal_code": "1058",
                    "city": "København K",
                    "country": "DK",
                },
                "industry_codes": [{"code": "791100", "text": "Rejsebureauer", "primary": True}],
                "owners": [
                    _company(NORDLYS_HOLDING, "Nordlys Holding A/S", "0.90", "1"),
                    _person("carl-dahl", "0.05", "0.0999"),
                ],
                "roles": [
                    _management("dina-eng"),
                    {
                        "role": "auditor",
                        "party": {"country": "DK", "registration_number": AUDITOR},
                        "name": "Revisorerne P/S",
                    },
                ],
                "registered_beneficial_owners": [
                    {"person_id": "anna-holm", "name": "Anna Holm", "registered_on": "2024-01-05"}
                ],
                "key_figures": [
                    {
                        "year": 2025,
                        "revenue": "55120000.00",
                        "gross_profit": "23950000.00",
                        "operating_profit": "4980000.00",
                        "profit": "3710000.00",
                        "equity": "18960000.00",
                        "share_capital": "1000000.00",
                        "total_assets": "38400000.00",
                        "current_assets": "21300000.00",
                        "current_liabilities": "11050000.00",
                        "employees": 46,
                        "auditor_statement": "unqualified",
                        "annual_report_date": "2026-05-26",
                    },
                    {
                        "year": 2024,
                        "revenue": "51030000.00",
                        "gross_profit": "22480000.00",
                        "operating_profit": "4420000.00",
                        "profit": "3250000.00",
                        "equity": "15250000.00",
                        "share_capital": "1000000.00",
                        "total_assets": "35100000.00",
                        "current_assets": "19200000.00",
                        "current_liabilities": "10900000.00",
                        "employees": 43,
                        "auditor_statement": "unqualified",
                        "annual_report_date": "2025-05-27",
                    },
                    {
                        "year": 2023,
                        "revenue": "48250000.00",
                        "gross_profit": "21400000.00",
                        "operating_profit": "4100000.00",
                        "profit": "3050000.00",
                        "equity": "12800000.00",
                        "share_capital": "1000000.00",
                        "total_assets": "31900000.00",
                        "current_assets": "17400000.00",
                        "current_liabilities": "9800000.00",
                        "employees": 41,
                        "auditor_statement": "unqualified",
                        "annual_report_date": "2024-05-28",
                    },
                    {
                        "year": 2022,
                        "revenue": "41900000.00",
                        "profit": "2210000.00",
                        "equity": "9750000.00",
                        "share_capital": "1000000.00",
                        "total_assets": "27300000.00",
                        "employees": 37,
                        "auditor_statement": "unqualified",
                        "annual_report_date": "2023-05-30",
                    },
                ],
            },
        ),
        (
            "DK",
            FJELDSTED,
            {
                "name": "Fjeldsted Partner ApS",
                "legal_form": "APS",
                "owners": [
                    _person("bo-berg", "0.20"),
                    _company(NORDLYS_HOLDING, "Nordlys Holding A/S", "0.30"),
                    _company(HOLM_INVEST, "Holm Invest ApS", "0.50"),
                ],
                "roles": [_management("bo-berg")],
            },
        ),
        (
            "DK",
            KREDS_A,
            {
                "name": "Kreds A ApS",
                "owners": [_company(KREDS_B, "Kreds B ApS", "0.50"), _person("erik-fjeld", "0.50")],
                "roles": [_management("erik-fjeld")],
            },
        ),
        (
            "DK",
            KREDS_B,
            {
                "name": "Kreds B ApS",
                "status": "Under tvangsopløsning",
                "owners": [_company(KREDS_A, "Kreds A ApS", "0.50"), _person("dina-eng", "0.50")],
                "roles": [_management("dina-eng")],
            },
        ),
        (
            "DK",
            SPREDT,
            {
                "name": "Spredt Eje ApS",
                "owners": [
                    _person(p, "0.20")
                    for p in ("anna-holm", "bo-berg", "carl-dahl", "erik-fjeld", "frida-gran")
                ],
                "roles": [_management("frida-gran")],
                "balance_day": "12-31",
                # Equity below half the share capital: a capital loss the reports warn of. The 2025
                # annual report came in after the deadline (31 May 2026).
                "key_figures": [
                    {
                        "year": 2025,
                        "revenue": "2150000.00",
                        "gross_profit": "640000.00",
                        "operating_profit": "-310000.00",
                        "profit": "-295000.00",
                        "equity": "18000.00",
                        "share_capital": "40000.00",
                        "total_assets": "910000.00",
                        "current_assets": "520000.00",
                        "current_liabilities": "760000.00",
                        "auditor_statement": "qualified",
                        "annual_report_date": "2026-07-14",
                    },
                    {
                        "year": 2024,
                        "revenue": "2480000.00",
                        "gross_profit": "810000.00",
                        "operating_profit": "-40000.00",
                        "profit": "-52000.00",
                        "equity": "313000.00",
                        "share_capital": "40000.00",
                        "total_assets": "1020000.00",
                        "current_assets": "610000.00",
                        "current_liabilities": "540000.00",
                        "auditor_statement": "review",
                        "annual_report_date": "2025-05-20",
                    },
                ],
            },
        ),
        (
            "DK",
            BORS,
            {
                "name": "Nordisk Børs A/S",
                "legal_form": "A/S",
                "listed": True,
                "roles": [_management("gorm-hald")],
            },
        ),
        (
            "DK",
            BORS_DATTER,
            {
                "name": "Børs Datter ApS",
                "owners": [_company(BORS, "Nordisk Børs A/S", "1")],
                "roles": [_management("carl-dahl")],
            },
        ),
    ]
    if no_company is not None:
        number, name = no_company
        body: dict[str, Any] = {
            "name": name,
            "legal_form": "AS",
            "balance_day": "12-31",
            "owners": [_company(NORDLYS_DRIFT, "Nordlys Drift A/S", "1")],
            "roles": [_management("dina-eng")],
        }
        if client_account_id is not None:
            body["client_account_id"] = client_account_id
        group.append(("NO", number, body))
    return group


def load_demo_registry(org_id: str, client_account_id: int | None = None) -> dict[str, Any]:
    """Write the demo group into the organization's registry (idempotent: unchanged on a second run)."""
    from saldo.adapters.client_accounts import ClientAccountRepo
    from saldo.registry.service import RegistryService

    service = RegistryService(org_id)
    for pid, person in PERSONS.items():
        service.put_person(pid, PersonIn.model_validate(person))
    no_company = None
    if client_account_id is not None:
        account = ClientAccountRepo().get(org_id, client_account_id)
        if account is not None and account.country == "NO":
            no_company = (account.registration_number, account.name)
    written = []
    for country, number, body in companies(no_company, client_account_id):
        service.put_company(country, number, CompanyIn.model_validate({"effective_date": EFFECTIVE, **body}))
        written.append((country, number))
        if number == FJELDSTED:  # a change of management the reports show in their history
            later = {**body, "roles": [_management("erik-fjeld")]}
            service.put_company(
                country, number, CompanyIn.model_validate({"effective_date": CHANGED, **later})
            )
    return {"registry_companies": len(written)}
