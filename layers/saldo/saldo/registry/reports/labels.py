"""Words and number styles of the company reports.

Labels are Danish or English, chosen by `Accept-Language` (Danish by default: the reports are the documents
a Danish auditor files). Numbers and dates follow the company's country, whatever the language: a Danish
company's figures read ``1.234.567,89`` and ``31.12.2024``, a Norwegian one's ``1 234 567,89``; other
countries follow the language (English ``1,234,567.89`` and ISO dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from saldo.render.negotiation import weighted_values

Lang = Literal["da", "en"]
NumberStyle = Literal["da", "nb", "en"]

LABELS: dict[str, tuple[str, str]] = {
    # titles
    "Revision": ("Revisionsrapport", "Audit report"),
    "RevisionUdvidet": ("Udvidet revisionsrapport", "Extended audit report"),
    "ReelleEjere": ("Reelle ejere", "Beneficial owners"),
    "Finans": ("Finansiel rapport", "Financial report"),
    # page furniture
    "page": ("Side {page} af {pages}", "Page {page} of {pages}"),
    "generated": ("Dannet {when} af Saldo", "Generated {when} by Saldo"),
    "as_of": ("Oplysninger pr.", "Data as of"),
    "report_date": ("Rapportdato", "Report date"),
    "regno_DK": ("CVR-nr.", "CVR no."),
    "regno_NO": ("Org.nr.", "Org. no."),
    "regno": ("Reg.nr.", "Reg. no."),
    # sections
    "master_data": ("Stamdata", "Master data"),
    "management": ("Direktion", "Management"),
    "board": ("Bestyrelse", "Board of directors"),
    "fully_liable": ("Fuldt ansvarlige deltagere", "Fully liable partners"),
    "auditor": ("Revisor", "Auditor"),
    "legal_owners": ("Legale ejere", "Legal owners"),
    "registered_bo": ("Registrerede reelle ejere", "Registered beneficial owners"),
    "computed_bo": ("Beregnede reelle ejere", "Computed beneficial owners"),
    "key_figures": ("Nøgletal", "Key figures"),
    "warnings": ("Advarsler", "Warnings"),
    "group": ("Koncernstruktur", "Group structure"),
    "changes": ("Historik: ledelse og ejerskab", "History: management and ownership"),
    "related": ("Nøglepersoners øvrige virksomheder", "Other companies of key persons"),
    "differences": ("Afvigelser", "Differences"),
    "chains": ("Ejerkæder", "Ownership chains"),
    "the_rule": ("Reglen", "The rule"),
    "income": ("Resultatopgørelse", "Income statement"),
    "balance": ("Balance", "Balance sheet"),
    "ratios": ("Nøgletal og udvikling", "Ratios and trend"),
    "statement": ("Revisors erklæring", "Auditor's statement"),
    # master data fields
    "name": ("Navn", "Name"),
    "former_names": ("Tidligere navne", "Former names"),
    "address": ("Adresse", "Address"),
    "legal_form": ("Virksomhedsform", "Legal form"),
    "status": ("Status", "Status"),
    "founded": ("Stiftet", "Founded"),
    "industry": ("Branche", "Industry"),
    "purpose": ("Formål", "Purpose"),
    "employees": ("Ansatte", "Employees"),
    "balance_day": ("Regnskabsår slutter", "Fiscal year ends"),
    "listed": ("Børsnoteret", "Listed"),
    "ledger": ("Regnskabsdata", "Accounting data"),
    "ledger_linked": ("Fra Saldo-klientkonto {id}", "From Saldo client account {id}"),
    "yes": ("Ja", "Yes"),
    "no": ("Nej", "No"),
    # table headers
    "person_or_company": ("Navn", "Name"),
    "title": ("Titel", "Title"),
    "since": ("Tiltrådt", "Since"),
    "id": ("Identifikation", "Identification"),
    "capital": ("Kapital", "Capital"),
    "votes": ("Stemmer", "Votes"),
    "registered_on": ("Registreret", "Registered"),
    "basis": ("Grundlag", "Basis"),
    "year": ("År", "Year"),
    "date": ("Dato", "Date"),
    "change": ("Ændring", "Change"),
    "section": ("Område", "Area"),
    "company": ("Virksomhed", "Company"),
    "relations": ("Roller", "Roles"),
    "person": ("Person", "Person"),
    "chain": ("Kæde", "Chain"),
    "difference": ("Afvigelse", "Difference"),
    "trend": ("Udvikling", "Trend"),
    "source": ("Kilde", "Source"),
    "source_ledger": ("Saldo-regnskab", "Saldo ledger"),
    "source_registered": ("Årsrapport", "Annual report"),
    "partial": ("(foreløbigt)", "(preliminary)"),
    # key figures
    "revenue": ("Nettoomsætning", "Revenue"),
    "gross_profit": ("Bruttofortjeneste", "Gross profit"),
    "operating_profit": ("Driftsresultat", "Operating profit"),
    "profit": ("Årets resultat", "Profit for the year"),
    "equity": ("Egenkapital", "Equity"),
    "share_capital": ("Selskabskapital", "Share capital"),
    "total_assets": ("Balancesum", "Total assets"),
    "current_assets": ("Omsætningsaktiver", "Current assets"),
    "current_liabilities": ("Kortfristede gældsforpligtelser", "Current liabilities"),
    "employees_year": ("Antal ansatte", "Employees"),
    "auditor_statement": ("Revisors erklæring", "Auditor's statement"),
    "annual_report_date": ("Årsrapport godkendt", "Annual report approved"),
    "gross_margin": ("Bruttomargin", "Gross margin"),
    "operating_margin": ("Overskudsgrad", "Operating margin"),
    "return_on_equity": ("Egenkapitalforrentning", "Return on equity"),
    "solvency_ratio": ("Soliditetsgrad", "Solvency ratio"),
    "current_ratio": ("Likviditetsgrad", "Current ratio"),
    # roles
    "role_management": ("Direktør", "Managing director"),
    "role_board": ("Bestyrelsesmedlem", "Board member"),
    "role_chair": ("Bestyrelsesformand", "Chair of the board"),
    "role_fully_liable_partner": ("Fuldt ansvarlig deltager", "Fully liable partner"),
    "role_auditor": ("Revisor", "Auditor"),
    "role_founder": ("Stifter", "Founder"),
    "role_owner": ("Ejer", "Owner"),
    "role_registered_beneficial_owner": ("Reel ejer", "Beneficial owner"),
    # auditor statements
    "stmt_unqualified": ("Revisionspåtegning uden forbehold", "Unmodified audit opinion"),
    "stmt_qualified": ("Revisionspåtegning med forbehold", "Qualified audit opinion"),
    "stmt_adverse": ("Afkræftende konklusion", "Adverse opinion"),
    "stmt_disclaimer": ("Manglende konklusion", "Disclaimer of opinion"),
    "stmt_review": ("Erklæring om review", "Review report"),
    "stmt_compilation": ("Erklæring om opstilling", "Compilation report"),
    "stmt_none": ("Ingen revisorerklæring", "No auditor's report"),
    # bases
    "basis_qualifies": ("Over 25 %", "Above 25%"),
    "basis_possible": ("Muligvis over 25 %", "Possibly above 25%"),
    "basis_management": ("Ledelse (ingen ejer over 25 %)", "Management (no owner above 25%)"),
    # differences
    "diff_not_registered": ("Beregnet, men ikke registreret", "Computed but not registered"),
    "diff_not_computed": ("Registreret, men ikke beregnet", "Registered but not computed"),
    "diff_share_differs": ("Andelen afviger", "The share differs"),
    "diff_management_not_registered": (
        "Ledelsen træder i stedet, men er ikke registreret",
        "Management stands in but is not registered",
    ),
    # history
    "change_joined": ("Tiltrådt", "Joined"),
    "change_left": ("Fratrådt", "Left"),
    "change_changed": ("Ændret", "Changed"),
    "section_roles": ("Ledelse", "Management"),
    "section_owners": ("Ejerskab", "Ownership"),
    # warnings
    "warn_capital_loss": (
        "Kapitaltab: egenkapitalen ({equity}) er under halvdelen af selskabskapitalen ({capital}) i {year}",
        "Capital loss: equity ({equity}) is below half the share capital ({capital}) in {year}",
    ),
    "warn_annual_report_missing": (
        "Årsrapporten for regnskabsåret, der sluttede {end}, mangler (frist {deadline})",
        "The annual report for the fiscal year ended {end} is missing (due {deadline})",
    ),
    "warn_annual_report_late": (
        "Årsrapporten for {year} blev godkendt {approved}, efter fristen {deadline}",
        "The annual report for {year} was approved {approved}, after the deadline {deadline}",
    ),
    "warn_management_changed": (
        "Direktionen er ændret inden for de seneste 12 måneder ({when})",
        "Management changed in the last 12 months ({when})",
    ),
    "warn_status": ("Status er ikke normal: {status}", "Status is not normal: {status}"),
    "warn_owners_disagree": (
        "Registrerede og beregnede reelle ejere stemmer ikke overens (afvigelser: {count})",
        "Registered and computed beneficial owners disagree (differences: {count})",
    ),
    "warn_incomplete": (
        "Ejerstrukturen kunne ikke gennemgås helt; resultatet kan være ufuldstændigt",
        "The ownership structure could not be walked entirely; the result may be incomplete",
    ),
    "no_warnings": ("Ingen advarsler", "No warnings"),
    "exempt_listed": (
        "Børsnoteret selskab: undtaget fra registrering af reelle ejere; ledelsen anføres",
        "Listed company: exempt from registering beneficial owners; management is shown",
    ),
    "exempt_listed_subsidiary": (
        "Helejet datterselskab af et børsnoteret selskab: undtaget; ledelsen anføres",
        "Wholly owned subsidiary of a listed company: exempt; management is shown",
    ),
    "cycles": ("Cirkulært ejerskab (ikke fulgt): {cycles}", "Circular ownership (not followed): {cycles}"),
    "missing": (
        "Ejere uden oplysninger i registret: {names}",
        "Owners with no data in the registry: {names}",
    ),
    "no_differences": (
        "Registrerede og beregnede reelle ejere stemmer overens",
        "Registered and computed beneficial owners agree",
    ),
    "none": ("Ingen", "None"),
    "diagram_caption": (
        "Ejere over, datterselskaber under; andele af kapitalen på pilene. Stiplet: cirkulært ejerskab.",
        "Owners above, subsidiaries below; capital shares on the arrows. Dashed: circular ownership.",
    ),
    "bo_intro": (
        "Reelle ejere er de fysiske personer, der direkte eller indirekte ejer eller kontrollerer mere "
        "end 25 % af kapitalen eller stemmerne (hvidvaskloven). Andele gennem kæder af selskaber "
        "ganges; parallelle kæder lægges sammen; registrets intervaller bevares som intervaller.",
        "Beneficial owners are the natural persons who directly or indirectly own or control more than "
        "25% of the capital or votes (Danish AML act). Shares through chains of companies multiply; "
        "parallel chains add up; the register's ranges are kept as ranges.",
    ),
    "person_kind": ("Person", "Person"),
    "not_in_registry": ("ikke i registret", "not in the registry"),
    "more_owners": ("+ {n} ejere mere", "+ {n} more owners"),
    "see_owners": ("se Legale ejere", "see Legal owners"),
}


# Statuses as the registers and imports write them (lower case), in the reports' words.
STATUSES: dict[str, tuple[str, str]] = {
    "normal": ("Normal", "Active"),
    "aktiv": ("Normal", "Active"),
    "active": ("Normal", "Active"),
    "under tvangsopløsning": ("Under tvangsopløsning", "In compulsory dissolution"),
    "compulsory dissolution": ("Under tvangsopløsning", "In compulsory dissolution"),
    "tvangsopløst": ("Tvangsopløst", "Dissolved by compulsion"),
    "under konkurs": ("Under konkurs", "In bankruptcy"),
    "bankrupt": ("Under konkurs", "In bankruptcy"),
    "opløst efter konkurs": ("Opløst efter konkurs", "Dissolved after bankruptcy"),
    "under frivillig likvidation": ("Under frivillig likvidation", "In voluntary liquidation"),
    "in liquidation": ("Under likvidation", "In liquidation"),
    "under rekonstruktion": ("Under rekonstruktion", "In reconstruction"),
    "ophørt": ("Ophørt", "Ceased"),
    "opløst": ("Opløst", "Dissolved"),
}


def status_text(status: str | None, lang: Lang) -> str:
    """A known status in the report's language; another as the register wrote it."""
    if not status:
        return "-"
    known = STATUSES.get(status.strip().lower())
    return (known[1] if lang == "en" else known[0]) if known else status


def text(key: str, lang: Lang, **fields: object) -> str:
    da, en = LABELS[key]
    value = en if lang == "en" else da
    return value.format(**fields) if fields else value


def parse_language(header: str | None) -> Lang:
    """Danish unless `Accept-Language` prefers English (Danish, Norwegian and Swedish readers get Danish)."""
    if not header:
        return "da"
    best: tuple[float, int, Lang] | None = None
    for tag, q, index in weighted_values(header):
        primary = tag.replace("_", "-").split("-")[0]
        lang: Lang | None = (
            "en" if primary == "en" else "da" if primary in ("da", "nb", "nn", "no", "sv") else None
        )
        if q <= 0 or lang is None:
            continue
        if best is None or q > best[0] or (q == best[0] and index < best[1]):
            best = (q, index, lang)
    return best[2] if best else "da"


@dataclass(frozen=True, slots=True)
class Style:
    """How one report writes numbers and dates."""

    numbers: NumberStyle

    @classmethod
    def for_company(cls, country: str, lang: Lang) -> Style:
        if country == "DK":
            return cls("da")
        if country == "NO":
            return cls("nb")
        return cls("da" if lang == "da" else "en")

    def number(self, value: Decimal | int | None, decimals: int = 0) -> str:
        if value is None:
            return "-"
        q = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        if q.is_zero():
            q = abs(q)
        plain = format(q, ",f")
        if self.numbers == "en":
            return plain
        group = "." if self.numbers == "da" else "\u202f"
        return plain.replace(",", "\0").replace(".", ",").replace("\0", group)

    def amount(self, value: Decimal | None) -> str:
        """Key figures are shown in whole currency units, as annual reports show them."""
        return self.number(value, 0)

    def percent(self, fraction: Decimal | None, decimals: int = 1) -> str:
        if fraction is None:
            return "-"
        shown = self.number(fraction * 100, decimals)
        return f"{shown}%" if self.numbers == "en" else f"{shown}\u00a0%"

    def share(self, low: str | Decimal, high: str | Decimal) -> str:
        """A range of fractions as the register writes it: ``25-33,33 %``; an exact share alone."""
        lo, hi = Decimal(low), Decimal(high)
        if lo == hi:
            return self.percent(lo, 2).replace(",00", "").replace(".00", "")
        a = self.number(lo * 100, 2).replace(",00", "").replace(".00", "")
        b = self.percent(hi, 2).replace(",00", "").replace(".00", "")
        return f"{a}\u2013{b}"

    def date(self, value: date | str | None) -> str:
        if value is None or value == "":
            return "-"
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        if self.numbers == "en":
            return day.isoformat()
        return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
