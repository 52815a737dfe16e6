from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PdfReader

from saldo.render.section_pdf import layout_diagram, render_section_pdf, write_section_pdf
from saldo.render.sections import (
    Diagram,
    Edge,
    Facts,
    Node,
    Notice,
    Notices,
    Paragraph,
    Section,
    SectionDocument,
    Table,
)
from tests.render import section_samples

USABLE_W = 186.0


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def _texts(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in _reader(data).pages]


def _flat(text: str) -> str:
    """Extracted text with line breaks as spaces (wrapped cells and boxes come out over several lines)."""
    return " ".join(text.split())


def _doc(sections: list[Section], page_label: str = "Side {page} af {pages}") -> SectionDocument:
    return SectionDocument(
        title="Due diligence-rapport",
        subtitle="Ærø Bryghus & Mølleri A/S · CVR 29 87 65 43",
        sections=sections,
        meta=[("Rapportdato", "2. marts 2026")],
        footer="Dannet 2. marts 2026",
        page_label=page_label,
        language="da-DK",
        generated_at=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
    )


def test_sample_contains_every_kind_of_content() -> None:
    data = render_section_pdf(section_samples.due_diligence())
    reader = _reader(data)
    text = _flat(" ".join(_texts(data)))
    for expected in (
        "Due diligence-rapport (KYC)",
        "Ærø Bryghus & Mølleri A/S · CVR 29 87 65 43",
        "Rapportdato",
        "Stamdata",
        "Havnegade 14, 5970 Ærøskøbing",
        "Kjærsgaard Holding ApS",
        "51,00 %",
        "I alt direkte",
        "Łukasz Żółć",
        "Ejerkæden indeholder en cirkel",
        "Alle reelle ejere er identificeret",
        "Fjordlys Fonden",
        "Ukendt ejer (ikke oplyst)",
        "Bryghus Norge AS",
        "25 %",
        "Koncernstruktur pr. 1. marts 2026",
    ):
        assert expected in text, expected
    info = reader.metadata
    assert info is not None
    assert info.title == "Due diligence-rapport (KYC)"
    assert info.author == "Revisionsfirmaet Ærø & Partnere"
    assert str(info["/CreationDate"]).startswith("D:20260302091500")
    assert reader.trailer["/Root"]["/Lang"] == "da-DK"
    page = reader.pages[0]
    assert float(page.mediabox.width) < float(page.mediabox.height)


def test_page_labels_and_repeated_table_header(tmp_path: Path) -> None:
    rows = [[f"Aktionær {i:03d} ApS", f"{i:08d}", "0,10 %"] for i in range(150)]
    table = Table(["Ejer", "CVR-nr.", "Andel"], [*rows, ["I alt", "", "15,00 %"]], bold_rows=frozenset({150}))
    target = tmp_path / "out.pdf"
    pages = write_section_pdf(_doc([Section("Ejere", [table])]), target)
    texts = _texts(target.read_bytes())
    assert pages == len(texts) > 1
    for i, text in enumerate(texts, start=1):
        assert f"Side {i} af {pages}" in text
        assert "Dannet 2. marts 2026" in text
        assert "Ejer CVR-nr. Andel" in _flat(text)  # the header row on every page of the table
    every = _flat(" ".join(texts))
    assert all(f"Aktionær {i:03d} ApS" in every for i in range(150))
    assert "I alt 15,00 %" in every


def test_write_to_file_object() -> None:
    buffer = io.BytesIO()
    pages = write_section_pdf(_doc([Section("Kort", [Paragraph("Kort tekst.")])]), buffer)
    assert pages == 1
    assert "Side 1 af 1" in _texts(buffer.getvalue())[0]


def test_hostile_text_wraps_and_paginates() -> None:
    purpose = ("Selskabets formål er at drive virksomhed med øl, malt og mel. " * 70)[:4000]
    long_name = "Ł" + "ø" * 499
    hostile = "Ἀθηνᾶ\x00\x07 tab\there\r\nny linje\u2028😀 \ud800 \u202eomvendt Łukasz Żółć"
    doc = _doc(
        [
            Section(
                "Stamdata " * 30,
                [
                    Facts([("Formål", purpose), ("Navn", long_name), ("Andet", hostile), ("", "")]),
                    Table(["Navn", "Beløb"], [[long_name, "1.234,00"], [hostile, "\x00"], [purpose, "5"]]),
                    Table(["Tom"], [], empty="Ingen rækker"),
                    Notices([Notice("warning", purpose), Notice("info", hostile), Notice("ok", "")]),
                    Notices([], empty="Ingen bemærkninger"),
                    Paragraph(hostile * 20, muted=True),
                    Paragraph(""),
                    Diagram(
                        [Node("a", long_name, hostile, "focus"), Node("b", hostile, "", "person", -1)],
                        [Edge("b", "a", hostile), Edge("a", "a", "egne aktier")],
                    ),
                ],
            )
        ],
        page_label="Side {page} af {oops}",
    )
    data = render_section_pdf(doc)
    texts = _texts(data)
    assert len(texts) > 2
    every = _flat(" ".join(texts))
    assert "Ἀθηνᾶ" in every
    assert "Łukasz Żółć" in every
    assert "Ingen rækker" in every
    assert "Ingen bemærkninger" in every
    # the 4000-character purpose is wrapped, not cut: its last words are there
    assert _flat(purpose).split()[-2] in every
    assert f"1 / {len(texts)}" in texts[0]  # a malformed page label falls back, it does not fail


def _big_diagram() -> Diagram:
    nodes = [
        Node("top", "Øverste Holding A/S", "CVR 11 22 33 44", "company", -2),
        Node("mid", "Mellem Holding ApS", "CVR 22 33 44 55", "company", -1),
        Node("p", "Anne-Grethe Ørnsø Sørensen", "person", "person", -1),
        Node("f", "Fokus A/S", "CVR 33 44 55 66", "focus", 0),
        Node("gone", "Ophørt ejer", "", "missing", -1),
    ]
    nodes += [Node(f"d{i}", f"Datterselskab {i} ApS", f"CVR 4{i:07d}", "company", 1) for i in range(40)]
    edges = [
        Edge("top", "mid", "100 %"),
        Edge("mid", "f", "60 %"),
        Edge("p", "f", "30 %"),
        Edge("gone", "f", "10 %"),
        Edge("top", "d17", "3,5 %"),  # skips two layers
        Edge("d5", "mid", "1 %", "dashed"),  # closes a cycle, upwards
    ]
    edges += [Edge("f", f"d{i}", f"{100 - i} %") for i in range(40)]
    return Diagram(nodes, edges, "Koncernen")


def test_large_diagram_renders_every_node() -> None:
    diagram = _big_diagram()
    data = render_section_pdf(_doc([Section("Koncernstruktur", [diagram])]))
    every = _flat(" ".join(_texts(data)))
    for node in diagram.nodes:
        # titles may wrap inside their box: compare word by word
        assert all(word in every for word in node.title.split()), node.title
    for edge in diagram.edges:
        assert edge.label in every


def test_layout_boxes_do_not_overlap() -> None:
    for diagram in (_big_diagram(), section_samples.group_diagram()):
        layout = layout_diagram(diagram, USABLE_W)
        boxes = layout.boxes
        assert len(boxes) == len(diagram.nodes)
        for b in boxes:
            assert b.x >= 0 and b.x + b.w <= USABLE_W + 1e-6
            assert b.y >= 0 and b.y + b.h <= layout.height + 1e-6
            assert 1 <= len(b.title_lines) <= 2
            assert b.title_size >= 5.5
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
                assert apart, (a.node.id, b.node.id)
        for e in layout.edges:
            assert all(-1e-6 <= x <= USABLE_W + 1e-6 for x, _ in e.points)


def test_wide_layer_wraps_into_rows() -> None:
    layout = layout_diagram(_big_diagram(), USABLE_W)
    rows = {b.row for b in layout.boxes if b.node.layer == 1}
    assert len(rows) > 1


def test_same_document_gives_same_bytes() -> None:
    doc = section_samples.due_diligence(20)
    assert render_section_pdf(doc) == render_section_pdf(section_samples.due_diligence(20))


def _ink(data: bytes, index: int, out: Path) -> float:
    """Share of non-white pixels on a page, which is also saved as PNG for a look."""
    pdf = pdfium.PdfDocument(data)
    image = pdf[index].render(scale=1).to_pil().convert("L")
    image.save(out)
    histogram = image.histogram()
    return 1 - sum(histogram[245:]) / sum(histogram)


def test_pages_are_drawn(tmp_path: Path) -> None:
    data = render_section_pdf(section_samples.due_diligence())
    texts = _texts(data)
    diagram_page = next(i for i, t in enumerate(texts) if "Fjordlys Fonden" in t)
    for index in (0, diagram_page):
        coverage = _ink(data, index, tmp_path / f"page-{index + 1}.png")
        assert 0.02 < coverage < 0.5, (index, coverage)
    blank = render_section_pdf(_doc([]))
    assert _ink(blank, 0, tmp_path / "blank.png") < 0.05


def _reciprocal_diagram() -> Diagram:
    """Two companies holding half of each other, with one more owner each."""
    return Diagram(
        [
            Node("d", "Dina Eng", "person", "person", -2),
            Node("e", "Erik Fjeld", "person", "person", -1),
            Node("b", "Kreds B ApS", "CVR 11 11 11 11", "company", -1),
            Node("a", "Kreds A ApS", "CVR 22 22 22 22", "focus", 0),
        ],
        [
            Edge("d", "b", "50 %"),
            Edge("e", "a", "50 %"),
            Edge("b", "a", "50 %"),
            Edge("a", "b", "50 %", "dashed"),
        ],
    )


def _three_owners_diagram() -> Diagram:
    """Three owners above the company, one of them also held by it, and one subsidiary below."""
    return Diagram(
        [
            Node("o1", "Ejer Et ApS", "CVR 10 00 00 01", "company", -1),
            Node("o2", "Ejer To ApS", "CVR 10 00 00 02", "company", -1),
            Node("o3", "Ejer Tre ApS", "CVR 10 00 00 03", "company", -1),
            Node("f", "Midt ApS", "CVR 10 00 00 04", "focus", 0),
            Node("s", "Datter ApS", "CVR 10 00 00 05", "company", 1),
        ],
        [
            Edge("o1", "f", "33 %"),
            Edge("o2", "f", "33 %"),
            Edge("o3", "f", "34 %"),
            Edge("f", "o2", "10 %", "dashed"),
            Edge("f", "s", "100 %"),
        ],
    )


def _parallel_paths_diagram() -> Diagram:
    """A person owning a holding and the operating company directly; the holding owns the company."""
    return Diagram(
        [
            Node("p", "Per Hansen", "person", "person", -2),
            Node("h", "PH Holding ApS", "CVR 20 00 00 01", "company", -1),
            Node("f", "PH Drift ApS", "CVR 20 00 00 02", "focus", 0),
        ],
        [Edge("p", "h", "100 %"), Edge("p", "f", "20 %"), Edge("h", "f", "80 %")],
    )


def _crosses(p: tuple[float, float], q: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    """Whether the segment p-q passes through the box (sampled finely enough for these sizes)."""
    x, y, w, h = box
    for k in range(401):
        t = k / 400
        px, py = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
        if x < px < x + w and y < py < y + h:
            return True
    return False


def _apart(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_edge_labels_clear_of_labels_and_boxes() -> None:
    for diagram in (
        _reciprocal_diagram(),
        _three_owners_diagram(),
        _parallel_paths_diagram(),
        section_samples.group_diagram(),
    ):
        layout = layout_diagram(diagram, USABLE_W)
        labels = [e.label_box for e in layout.edges if e.label_box]
        assert len(labels) == sum(1 for e in diagram.edges if e.label)
        for i, a in enumerate(labels):
            assert a[0] >= 0 and a[0] + a[2] <= USABLE_W + 1e-6
            for b in labels[i + 1 :]:
                assert _apart(a, b), (a, b)
            for box in layout.boxes:
                assert _apart(a, (box.x, box.y, box.w, box.h)), (a, box.node.id)


def test_reciprocal_edges_run_apart_with_labels_outside() -> None:
    for diagram, pair in ((_reciprocal_diagram(), ("a", "b")), (_three_owners_diagram(), ("f", "o2"))):
        layout = layout_diagram(diagram, USABLE_W)
        both = [e for e in layout.edges if {e.edge.owner, e.edge.owned} == set(pair)]
        assert len(both) == 2
        for end in (0, -1):
            # the two lines leave and reach each box well apart, not a few millimetres
            assert abs(both[0].points[end][0] - both[1].points[end][0]) >= 7.0
        left, right = sorted(both, key=lambda e: sum(x for x, _ in e.points))
        for e, other in ((left, right), (right, left)):
            assert e.label_box is not None
            assert not _crosses(other.points[0], other.points[-1], e.label_box)
            assert not _crosses(e.points[0], e.points[-1], e.label_box)  # beside its own line
        # each label on the outer side of its own line
        assert left.label_box is not None and right.label_box is not None
        assert left.label_box[0] + left.label_box[2] <= (left.points[0][0] + left.points[-1][0]) / 2
        assert right.label_box[0] >= (right.points[0][0] + right.points[-1][0]) / 2
