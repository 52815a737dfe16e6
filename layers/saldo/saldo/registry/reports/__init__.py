"""The four company reports (Revision, RevisionUdvidet, ReelleEjere, Finans): each a JSON body and a
`SectionDocument` rendered as PDF, from one `CompanyFile` (content.py). The batch API names them by name or
by number (Revision 0, Finans 1, ReelleEjere 2, RevisionUdvidet 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import ModuleType
from typing import Any

from saldo.registry.reports import beneficial_owners, finance, revision, revision_extended
from saldo.registry.reports.content import LedgerFigures, gather
from saldo.registry.reports.labels import Lang
from saldo.registry.service import RegistryService

REPORTS: dict[str, tuple[int, ModuleType]] = {
    "Revision": (0, revision),
    "Finans": (1, finance),
    "ReelleEjere": (2, beneficial_owners),
    "RevisionUdvidet": (3, revision_extended),
}
_BY_NAME = {name.lower(): name for name in REPORTS}
_BY_NUMBER = {str(number): name for name, (number, _) in REPORTS.items()}


def find_report_type(value: str | int) -> str | None:
    """The report's name from a name (any case) or its number; None when there is no such report."""
    key = str(value).strip()
    return _BY_NUMBER.get(key) or _BY_NAME.get(key.lower())


@dataclass
class CompanyReport:
    kind: str
    body: dict[str, Any]
    module: ModuleType
    file: Any
    lang: Lang

    def document(self) -> Any:
        return self.module.document(self.file, self.lang)

    def pdf(self) -> bytes:
        from saldo.render.section_pdf import render_section_pdf

        return render_section_pdf(self.document())


def company_report(
    service: RegistryService,
    kind: str,
    country: str,
    number: str,
    as_of: date,
    lang: Lang,
    ledger_figures: LedgerFigures | None = None,
) -> CompanyReport:
    module = REPORTS[kind][1]
    # Only the reports that show key figures read a linked ledger.
    figures = ledger_figures if module is not beneficial_owners else None
    file = gather(
        service, country, number, as_of, ledger_figures=figures, extended=module is revision_extended
    )
    return CompanyReport(kind, module.as_json(file, lang), module, file, lang)
