"""RevisionUdvidet: the Revision report, plus the group structure drawn as a diagram (owners above,
subsidiaries below, shares on the edges), the history of management and ownership changes, and the other
companies of the key persons."""

from __future__ import annotations

from typing import Any

from saldo.registry.reports import blocks, revision
from saldo.registry.reports.content import CompanyFile
from saldo.registry.reports.labels import Lang, Style, text
from saldo.render.sections import Diagram, Edge, Node, Paragraph, Section, SectionDocument, Table

KIND = "RevisionUdvidet"
HISTORY_ROWS = 200  # the newest changes; the history route has them all


def diagram(file: CompanyFile, lang: Lang) -> Diagram:
    style = Style.for_company(file.country, lang)
    layer = {n.key: n.layer for n in file.group_nodes}
    nodes = [_node(n, lang) for n in file.group_nodes]
    edges = [
        Edge(
            e.owner,
            e.owned,
            blocks.share(style, e.capital or e.votes),
            # An owner drawn at or below what it owns closes a cycle.
            "dashed" if layer[e.owner] >= layer[e.owned] else "solid",
        )
        for e in file.group_edges
    ]
    return Diagram(nodes, edges, caption=text("diagram_caption", lang))


def _node(n: Any, lang: Lang) -> Node:
    if n.kind == "more":
        return Node(n.key, text("more_owners", lang, n=n.name), text("see_owners", lang), "missing", n.layer)
    if n.kind == "person":
        return Node(n.key, n.name, text("person_kind", lang), "person", n.layer)
    subtitle = f"{blocks.regno_label(n.country or '', lang)} {n.registration_number}"
    if n.kind == "missing":
        subtitle += f" ({text('not_in_registry', lang)})"
    return Node(n.key, n.name, subtitle, n.kind, n.layer)


def history_table(file: CompanyFile, lang: Lang) -> Table:
    style = Style.for_company(file.country, lang)
    rows = []
    for e in file.history[:HISTORY_ROWS]:
        what = text(f"role_{e['role']}", lang) if e["section"] == "roles" else text("role_owner", lang)
        if e["section"] == "owners" and e.get("capital"):
            what += f" {blocks.share(style, e['capital'])}"
        rows.append(
            [
                style.date(e["date"]),
                e["name"],
                what,
                text(f"change_{e['change']}", lang),
            ]
        )
    return Table(
        [text("date", lang), text("person_or_company", lang), text("section", lang), text("change", lang)],
        rows,
        align=["L", "L", "L", "L"],
        widths=[1.2, 3, 2.4, 1.2],
        empty=text("none", lang),
    )


def related_table(file: CompanyFile, lang: Lang) -> Table:
    rows = []
    for person in file.related:
        for company in person["companies"]:
            roles = ", ".join(
                sorted({text(f"role_{link['relation']}", lang) for link in company["relations"]})
            )
            rows.append(
                [
                    person["name"],
                    f"{company['name']} ({blocks.regno_label(company['country'], lang)} "
                    f"{company['registration_number']})",
                    roles,
                ]
            )
    return Table(
        [text("person", lang), text("company", lang), text("relations", lang)],
        rows,
        align=["L", "L", "L"],
        widths=[2, 3.5, 2.5],
        empty=text("none", lang),
    )


def sections(file: CompanyFile, lang: Lang) -> list[Section]:
    group: list[Any] = [diagram(file, lang)]
    if not file.group_edges:
        group = [Paragraph(text("none", lang), muted=True)]
    return [
        *revision.sections(file, lang),
        Section(text("group", lang), group),
        Section(text("changes", lang), [history_table(file, lang)]),
        Section(text("related", lang), [related_table(file, lang)]),
    ]


def document(file: CompanyFile, lang: Lang) -> SectionDocument:
    return blocks.document(file, KIND, lang, sections(file, lang))


def as_json(file: CompanyFile, lang: Lang) -> dict[str, Any]:
    return {
        **revision.as_json(file, lang),
        "type": KIND,
        "group": {
            "nodes": [
                {"key": n.key, "kind": "more", "level": n.layer, "count": int(n.name)}
                if n.kind == "more"
                else {
                    "key": n.key,
                    "name": n.name,
                    "level": n.layer,
                    "kind": n.kind,
                    "country": n.country,
                    "registration_number": n.registration_number,
                }
                for n in file.group_nodes
            ],
            "edges": [
                {"owner": e.owner, "owned": e.owned, "capital": e.capital, "votes": e.votes}
                for e in file.group_edges
            ],
            "complete": file.group_complete,
        },
        "history": file.history,
        "related_companies": file.related,
    }
