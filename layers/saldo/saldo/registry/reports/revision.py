"""Revision: the company report an auditor files for customer due diligence (hvidvaskloven): master data,
warnings, management, board, auditor, legal owners, beneficial owners registered and computed, and the key
figures of the last three years."""

from __future__ import annotations

from typing import Any

from saldo.registry.reports import blocks
from saldo.registry.reports.content import CompanyFile
from saldo.registry.reports.labels import Lang
from saldo.render.sections import Section, SectionDocument

KIND = "Revision"


def sections(file: CompanyFile, lang: Lang) -> list[Section]:
    return [
        blocks.master_data(file, lang),
        blocks.warnings_section(file, lang),
        *blocks.management_sections(file, lang),
        blocks.owners_section(file, lang),
        *blocks.beneficial_owner_sections(file, lang),
        blocks.key_figures_section(file, lang),
    ]


def document(file: CompanyFile, lang: Lang) -> SectionDocument:
    return blocks.document(file, KIND, lang, sections(file, lang))


def as_json(file: CompanyFile, lang: Lang) -> dict[str, Any]:
    return {
        **blocks.head_json(file, KIND),
        "warnings": blocks.warnings_json(file, lang),
        "management": blocks.roles_json(file, ("management",)),
        "board": blocks.roles_json(file, ("chair", "board")),
        "fully_liable_partners": blocks.roles_json(file, ("fully_liable_partner",)),
        "auditor": blocks.roles_json(file, ("auditor",)),
        **blocks.ownership_json(file),
        "key_figures": blocks.figures_json(file),
    }
