"""A report of sections: headings, facts, tables, notices and a group diagram, for documents that are not one
long table (the company reports: Revision, RevisionUdvidet, ReelleEjere, Finans).

Values arrive formatted: the report that builds the document knows its language and number style (Danish
formats for a Danish company), so the renderer only lays out text. `render.section_pdf.write_section_pdf`
draws it on A4 with the shared fonts and colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Align = Literal["L", "R", "C"]
NoticeLevel = Literal["warning", "info", "ok"]
NodeKind = Literal["focus", "company", "person", "missing"]
EdgeStyle = Literal["solid", "dashed"]


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """Label/value pairs in two columns (master data)."""

    items: Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Table:
    """A table of formatted cells. `widths` are relative (shared out over the page width); rows listed in
    `bold_rows` (indices) are sums. An empty table shows `empty` instead."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    align: Sequence[Align] | None = None
    widths: Sequence[float] | None = None
    bold_rows: frozenset[int] = frozenset()
    empty: str = "-"

    def __post_init__(self) -> None:
        n = len(self.headers)
        if n == 0:
            raise ValueError("A table needs at least one column")
        for what, seq in (("align", self.align), ("widths", self.widths)):
            if seq is not None and len(seq) != n:
                raise ValueError(f"{what} has {len(seq)} entries for {n} columns")
        for i, row in enumerate(self.rows):
            if len(row) != n:
                raise ValueError(f"row {i} has {len(row)} cells for {n} columns")


@dataclass(frozen=True, slots=True)
class Notice:
    level: NoticeLevel
    text: str


@dataclass(frozen=True, slots=True)
class Notices:
    """Warnings and remarks, each marked by its level; `empty` is shown when there are none."""

    items: Sequence[Notice]
    empty: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    """A box in the group diagram. `layer` 0 is the company the report is about; owners are above it
    (-1 direct owners, -2 their owners, ...), subsidiaries below (1, 2, ...)."""

    id: str
    title: str
    subtitle: str = ""
    kind: NodeKind = "company"
    layer: int = 0


@dataclass(frozen=True, slots=True)
class Edge:
    """Ownership from `owner` to `owned`, labelled with the share; dashed for an edge that closes a cycle."""

    owner: str
    owned: str
    label: str = ""
    style: EdgeStyle = "solid"


@dataclass(frozen=True, slots=True)
class Diagram:
    nodes: Sequence[Node]
    edges: Sequence[Edge]
    caption: str = ""

    def __post_init__(self) -> None:
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("Diagram node ids must be unique")
        known = set(ids)
        for e in self.edges:
            if e.owner not in known or e.owned not in known:
                raise ValueError(f"Edge {e.owner} -> {e.owned} names a node the diagram does not have")


Block = Paragraph | Facts | Table | Notices | Diagram


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: Sequence[Block]


@dataclass(slots=True)
class SectionDocument:
    """Title block, sections, and the words of the page furniture in the report's language.

    `subtitle` is the company line (name and number); `meta` are label/value pairs shown under the title
    (report date, as of). `page_label` is formatted with `page` and `pages` (``Side {page} af {pages}``);
    `footer` is printed left on every page (generated at ...).
    """

    title: str
    subtitle: str
    sections: Sequence[Section]
    meta: Sequence[tuple[str, str]] = ()
    footer: str = ""
    page_label: str = "Page {page} of {pages}"
    language: str = "en"
    author: str = "Saldo"
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
