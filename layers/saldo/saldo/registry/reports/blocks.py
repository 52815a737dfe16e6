"""Sections the company reports share (master data, management, owners, key figures, warnings), as blocks
of a `SectionDocument` and as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from saldo.registry.reports.content import CompanyFile
from saldo.registry.reports.labels import Lang, Style, status_text, text
from saldo.render.formats import format_datetime
from saldo.render.sections import Facts, Notice, Notices, Paragraph, Section, SectionDocument, Table

FIGURE_ROWS = (
    "revenue",
    "gross_profit",
    "operating_profit",
    "profit",
    "total_assets",
    "current_assets",
    "equity",
    "share_capital",
    "current_liabilities",
)


def regno_label(country: str, lang: Lang) -> str:
    return text(f"regno_{country}", lang) if country in ("DK", "NO") else text("regno", lang)


def document(file: CompanyFile, kind: str, lang: Lang, sections: list[Section]) -> SectionDocument:
    style = Style.for_company(file.country, lang)
    view = file.view
    now = datetime.now(UTC)
    when = format_datetime(now, "en" if style.numbers == "en" else "nb")
    return SectionDocument(
        title=text(kind, lang),
        subtitle=f"{view['name']} \u00b7 {regno_label(file.country, lang)} {view['registration_number']}",
        sections=sections,
        meta=[
            (text("as_of", lang), style.date(file.as_of)),
            (text("report_date", lang), style.date(now.date())),
        ],
        footer=text("generated", lang, when=when),
        page_label=text("page", lang),
        language="da" if lang == "da" else "en",
        generated_at=now,
    )


def address_line(address: dict[str, Any] | None) -> str:
    if not address:
        return "-"
    city = " ".join(x for x in (address.get("postal_code"), address.get("city")) if x)
    parts = [address.get("street"), city, address.get("country")]
    return ", ".join(p for p in parts if p) or "-"


def party_id(party: dict[str, Any], lang: Lang) -> str:
    if "person_id" in party:
        return text("person_kind", lang)
    return f"{regno_label(party['country'], lang)} {party['registration_number']}"


def master_data(file: CompanyFile, lang: Lang) -> Section:
    style, view = Style.for_company(file.country, lang), file.view
    industry = "; ".join(
        f"{c['code']} {c.get('text') or ''}".strip() for c in view["industry_codes"] if c.get("primary")
    ) or "; ".join(f"{c['code']} {c.get('text') or ''}".strip() for c in view["industry_codes"])
    items = [
        (text("name", lang), view["name"] or "-"),
        (regno_label(file.country, lang), view["registration_number"]),
        (text("address", lang), address_line(view.get("address"))),
        (text("legal_form", lang), view.get("legal_form") or "-"),
        (text("status", lang), status_text(view.get("status"), lang)),
        (text("founded", lang), style.date(view.get("founded"))),
        (text("industry", lang), industry or "-"),
        (text("employees", lang), view.get("employees") or "-"),
        (text("balance_day", lang), _balance_day(view.get("balance_day"), style)),
        (text("listed", lang), text("yes" if view["listed"] else "no", lang)),
    ]
    if file.former_names:
        items.insert(1, (text("former_names", lang), "; ".join(file.former_names)))
    if view.get("client_account_id") is not None:
        items.append((text("ledger", lang), text("ledger_linked", lang, id=view["client_account_id"])))
    blocks: list[Any] = [Facts(items)]
    if view.get("purpose"):
        blocks.append(Paragraph(f"{text('purpose', lang)}: {view['purpose']}", muted=True))
    return Section(text("master_data", lang), blocks)


def _balance_day(value: str | None, style: Style) -> str:
    if not value:
        return "-"
    return f"{value[3:]}.{value[:2]}." if style.numbers != "en" else f"--{value}"


def _pep(file: CompanyFile, party: dict[str, Any]) -> str:
    person = file.persons.get(party.get("person_id", ""))
    return " (PEP)" if person and person.get("pep") else ""


def roles_table(file: CompanyFile, lang: Lang, roles: tuple[str, ...]) -> Table:
    style = Style.for_company(file.country, lang)
    rows = [
        [
            r["name"] + _pep(file, r["party"]),
            r.get("title") or text(f"role_{r['role']}", lang),
            party_id(r["party"], lang),
            style.date(r.get("valid_from")),
        ]
        for r in file.view["roles"]
        if r["role"] in roles
    ]
    return Table(
        [text("person_or_company", lang), text("title", lang), text("id", lang), text("since", lang)],
        rows,
        align=["L", "L", "L", "L"],
        widths=[3, 2.2, 1.8, 1.2],
        empty=text("none", lang),
    )


def management_sections(file: CompanyFile, lang: Lang) -> list[Section]:
    out = [
        Section(text("management", lang), [roles_table(file, lang, ("management",))]),
        Section(text("board", lang), [roles_table(file, lang, ("chair", "board"))]),
    ]
    if any(r["role"] == "fully_liable_partner" for r in file.view["roles"]):
        out.append(Section(text("fully_liable", lang), [roles_table(file, lang, ("fully_liable_partner",))]))
    out.append(Section(text("auditor", lang), [roles_table(file, lang, ("auditor",))]))
    return out


def share(style: Style, value: dict[str, Any] | None) -> str:
    return "-" if not value else style.share(value["low"], value["high"])


def owners_section(file: CompanyFile, lang: Lang) -> Section:
    style = Style.for_company(file.country, lang)
    rows = [
        [
            o["name"] + _pep(file, o["party"]),
            party_id(o["party"], lang),
            share(style, o.get("capital")),
            share(style, o.get("votes")),
            style.date(o.get("valid_from")),
        ]
        for o in file.view["owners"]
    ]
    table = Table(
        [
            text("person_or_company", lang),
            text("id", lang),
            text("capital", lang),
            text("votes", lang),
            text("since", lang),
        ],
        rows,
        align=["L", "L", "R", "R", "L"],
        widths=[3, 1.8, 1.3, 1.3, 1.1],
        empty=text("none", lang),
    )
    return Section(text("legal_owners", lang), [table])


def registered_bo_table(file: CompanyFile, lang: Lang) -> Table:
    style = Style.for_company(file.country, lang)
    rows = [
        [
            b["name"] + _pep(file, {"person_id": b["person_id"]}),
            share(style, b.get("capital")),
            share(style, b.get("votes")),
            style.date(b.get("registered_on")),
        ]
        for b in file.ownership["registered_beneficial_owners"]
    ]
    return Table(
        [text("person", lang), text("capital", lang), text("votes", lang), text("registered_on", lang)],
        rows,
        align=["L", "R", "R", "L"],
        widths=[3, 1.4, 1.4, 1.4],
        empty=text("none", lang),
    )


def computed_bo_table(file: CompanyFile, lang: Lang) -> Table:
    style = Style.for_company(file.country, lang)
    rows = [
        [
            c["name"] + _pep(file, {"person_id": c["person_id"]}),
            share(style, c["capital"]),
            share(style, c["votes"]),
            text(f"basis_{c['basis']}", lang),
        ]
        for c in file.ownership["computed_beneficial_owners"]
    ]
    return Table(
        [text("person", lang), text("capital", lang), text("votes", lang), text("basis", lang)],
        rows,
        align=["L", "R", "R", "L"],
        widths=[3, 1.4, 1.4, 2.2],
        empty=text("none", lang),
    )


def ownership_notes(file: CompanyFile, lang: Lang) -> list[Notice]:
    own = file.ownership
    notes = []
    if own["exempt_reason"]:
        key = "exempt_listed" if own["exempt_reason"] == "listed company" else "exempt_listed_subsidiary"
        notes.append(Notice("info", text(key, lang)))
    if own["cycles"]:
        cycles = "; ".join(" \u2192 ".join(c) for c in own["cycles"])
        notes.append(Notice("info", text("cycles", lang, cycles=cycles)))
    if own["missing_owners"]:
        names = ", ".join(m["name"] for m in own["missing_owners"])
        notes.append(Notice("warning", text("missing", lang, names=names)))
    return notes


def differences_notices(file: CompanyFile, lang: Lang) -> Notices:
    items = [
        Notice("warning", f"{d['name']}: {text('diff_' + d['difference'], lang)}")
        for d in file.ownership["differences"]
    ]
    return Notices(items, empty=text("no_differences", lang))


def beneficial_owner_sections(file: CompanyFile, lang: Lang) -> list[Section]:
    computed: list[Any] = [computed_bo_table(file, lang)]
    notes = ownership_notes(file, lang)
    if notes:
        computed.append(Notices(notes))
    return [
        Section(text("registered_bo", lang), [registered_bo_table(file, lang)]),
        Section(text("computed_bo", lang), computed),
        Section(text("differences", lang), [differences_notices(file, lang)]),
    ]


def figure_years(file: CompanyFile, years: int = 3) -> list[dict[str, Any]]:
    return list(reversed(file.figures[:years]))  # oldest first, as annual reports compare


def year_header(figures: dict[str, Any], lang: Lang) -> str:
    return f"{figures['year']} {text('partial', lang)}" if figures.get("partial") else str(figures["year"])


def key_figures_section(file: CompanyFile, lang: Lang, years: int = 3) -> Section:
    style = Style.for_company(file.country, lang)
    shown = figure_years(file, years)
    if not shown:
        return Section(text("key_figures", lang), [Paragraph(text("none", lang), muted=True)])
    rows = [
        [text(key, lang), *(style.amount(_dec(f.get(key))) for f in shown)]
        for key in FIGURE_ROWS
        if any(f.get(key) is not None for f in shown)
    ]
    if any(f.get("employees") is not None for f in shown):
        rows.append([text("employees_year", lang), *(style.number(f.get("employees")) for f in shown)])
    source = text("source_ledger" if file.figures_source == "ledger" else "source_registered", lang)
    rows.append([text("source", lang), *([source] * len(shown))])
    table = Table(
        ["", *(year_header(f, lang) for f in shown)],
        rows,
        align=["L", *(["R"] * len(shown))],
        widths=[3, *([1.4] * len(shown))],
    )
    return Section(text("key_figures", lang), [table])


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def warning_texts(file: CompanyFile, lang: Lang) -> list[str]:
    style = Style.for_company(file.country, lang)
    out = []
    for w in file.warnings:
        code = w["code"]
        if code == "capital_loss":
            out.append(
                text(
                    "warn_capital_loss",
                    lang,
                    equity=style.amount(Decimal(w["equity"])),
                    capital=style.amount(Decimal(w["share_capital"])),
                    year=w["year"],
                )
            )
        elif code == "annual_report_missing":
            out.append(
                text(
                    "warn_annual_report_missing",
                    lang,
                    end=style.date(w["fiscal_year_end"]),
                    deadline=style.date(w["deadline"]),
                )
            )
        elif code == "annual_report_late":
            out.append(
                text(
                    "warn_annual_report_late",
                    lang,
                    year=w["year"],
                    approved=style.date(w["approved"]),
                    deadline=style.date(w["deadline"]),
                )
            )
        elif code == "management_changed":
            out.append(
                text("warn_management_changed", lang, when=", ".join(style.date(d) for d in w["dates"]))
            )
        elif code == "status":
            out.append(text("warn_status", lang, status=status_text(w["status"], lang)))
        elif code == "owners_disagree":
            out.append(text("warn_owners_disagree", lang, count=w["count"]))
        elif code == "incomplete":
            out.append(text("warn_incomplete", lang))
    return out


def warnings_section(file: CompanyFile, lang: Lang) -> Section:
    notices = Notices(
        [Notice("warning", t) for t in warning_texts(file, lang)], empty=text("no_warnings", lang)
    )
    return Section(text("warnings", lang), [notices])


# ------------------------------------------------------------------------------------------------ JSON
def head_json(file: CompanyFile, kind: str) -> dict[str, Any]:
    """What every report's JSON opens with: its type, its day and the company."""
    return {"type": kind, "as_of": file.as_of, "company": company_json(file)}


def company_json(file: CompanyFile) -> dict[str, Any]:
    view = file.view
    keys = ("country", "registration_number", "name", "address", "legal_form", "status", "founded")
    more = ("industry_codes", "purpose", "employees", "balance_day", "listed", "client_account_id")
    return {
        **{k: view.get(k) for k in keys},
        "former_names": file.former_names,
        **{k: view.get(k) for k in more},
    }


def warnings_json(file: CompanyFile, lang: Lang) -> list[dict[str, Any]]:
    return [
        {**w, "message": message} for w, message in zip(file.warnings, warning_texts(file, lang), strict=True)
    ]


def ownership_json(file: CompanyFile) -> dict[str, Any]:
    """The owners every report that shows them answers with."""
    own = file.ownership
    return {
        "legal_owners": file.view["owners"],
        "registered_beneficial_owners": own["registered_beneficial_owners"],
        "computed_beneficial_owners": own["computed_beneficial_owners"],
        "differences": own["differences"],
        "exempt_reason": own["exempt_reason"],
    }


def figures_json(file: CompanyFile, years: int = 3) -> dict[str, Any]:
    return {"source": file.figures_source, "years": file.figures[:years]}


def roles_json(file: CompanyFile, roles: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{**r, "pep": bool(_pep(file, r["party"]))} for r in file.view["roles"] if r["role"] in roles]
