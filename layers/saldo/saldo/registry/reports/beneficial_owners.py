"""ReelleEjere: the registered and the computed beneficial owners, each computed owner with the chains its
share runs through and their share ranges, every difference flagged, and the date of each registration."""

from __future__ import annotations

from typing import Any

from saldo.registry.reports import blocks
from saldo.registry.reports.content import CompanyFile
from saldo.registry.reports.labels import Lang, Style, text
from saldo.render.sections import Paragraph, Section, SectionDocument, Table

KIND = "ReelleEjere"
CHAINS_PER_OWNER = 50


def chains_table(file: CompanyFile, lang: Lang) -> Table:
    style = Style.for_company(file.country, lang)
    rows = []
    for owner in file.ownership["computed_beneficial_owners"]:
        for chain in owner["chains"][:CHAINS_PER_OWNER]:
            path = " \u2192 ".join(step["name"] for step in chain["path"])
            rows.append(
                [
                    owner["name"],
                    path,
                    blocks.share(style, chain["capital"]),
                    blocks.share(style, chain["votes"]),
                ]
            )
    return Table(
        [text("person", lang), text("chain", lang), text("capital", lang), text("votes", lang)],
        rows,
        align=["L", "L", "R", "R"],
        widths=[1.8, 4.2, 1.2, 1.2],
        empty=text("none", lang),
    )


def sections(file: CompanyFile, lang: Lang) -> list[Section]:
    bo = blocks.beneficial_owner_sections(file, lang)
    return [
        Section(text("the_rule", lang), [Paragraph(text("bo_intro", lang), muted=True)]),
        *bo[:2],
        Section(text("chains", lang), [chains_table(file, lang)]),
        bo[2],
        blocks.owners_section(file, lang),
    ]


def document(file: CompanyFile, lang: Lang) -> SectionDocument:
    return blocks.document(file, KIND, lang, sections(file, lang))


def as_json(file: CompanyFile, lang: Lang) -> dict[str, Any]:
    own = file.ownership
    return {
        **blocks.head_json(file, KIND),
        **blocks.ownership_json(file),
        "cycles": own["cycles"],
        "missing_owners": own["missing_owners"],
        "complete": own["complete"],
    }
