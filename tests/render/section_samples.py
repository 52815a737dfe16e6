"""Sample section documents shaped like the company reports: a Danish A/S with owners over three layers
(parallel paths and a cycle), four subsidiaries, master data, ownership tables and notices.

    PYTHONPATH=layers/saldo:tools:. python -m tests.render.section_samples [output-dir]

renders the sample and writes a PNG of every page (needs pypdfium2).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

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

GENERATED = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def group_diagram() -> Diagram:
    nodes = [
        Node("p1", "Søren Østergaard Kjærsgaard", "person", "person", -3),
        Node("p2", "Łukasz Żółć", "person", "person", -3),
        Node("h1", "Østergaard Invest ApS", "CVR 41 23 45 67", "company", -2),
        Node("h2", "Nordhavn Kapital Holding A/S", "CVR 38 76 54 32", "company", -2),
        Node("h3", "Fjordlys Fonden", "CVR 12 34 56 78", "company", -2),
        Node("m1", "Kjærsgaard Holding ApS", "CVR 40 11 22 33", "company", -1),
        Node("m2", "Bryggens Ejendomsselskab A/S", "CVR 39 44 55 66", "company", -1),
        Node("x1", "Ukendt ejer (ikke oplyst)", "", "missing", -1),
        Node("f", "Ærø Bryghus & Mølleri A/S", "CVR 29 87 65 43", "focus", 0),
        Node("s1", "Ærø Bryghus Salg ApS", "CVR 42 10 20 30", "company", 1),
        Node("s2", "Marstal Malteri ApS", "CVR 42 40 50 60", "company", 1),
        Node("s3", "Søby Logistik og Lager ApS", "CVR 43 70 80 90", "company", 1),
        Node("s4", "Bryghus Norge AS", "Org.nr. 923 456 783", "company", 1),
    ]
    edges = [
        Edge("p1", "h1", "100 %"),
        Edge("p1", "m1", "60 %"),
        Edge("p2", "h2", "35 %"),
        Edge("h1", "m1", "40 %"),
        Edge("h2", "m2", "100 %"),
        Edge("h3", "m2", "12 %", "dashed"),
        Edge("m2", "h3", "25 %", "dashed"),
        Edge("m1", "f", "51 %"),
        Edge("m2", "f", "34 %"),
        Edge("x1", "f", "15 %"),
        Edge("h2", "f", "5 %"),  # skips a layer: a parallel path past Bryggens
        Edge("f", "s1", "100 %"),
        Edge("f", "s2", "100 %"),
        Edge("f", "s3", "75 %"),
        Edge("f", "s4", "100 %"),
        Edge("s3", "m2", "2 %", "dashed"),  # a subsidiary holding shares in an owner: a cycle
    ]
    return Diagram(
        nodes,
        edges,
        "Koncernstruktur pr. 1. marts 2026. Stiplede linjer lukker en ejerskabscirkel; "
        "stiplet ramme: ejer uden oplysninger.",
    )


def due_diligence(extra_rows: int = 0) -> SectionDocument:
    owners = [
        ["Kjærsgaard Holding ApS", "40112233", "51,00 %", "51,00 %", "Direkte"],
        ["Bryggens Ejendomsselskab A/S", "39445566", "34,00 %", "34,00 %", "Direkte"],
        ["Ukendt ejer (ikke oplyst)", "-", "15,00 %", "15,00 %", "Direkte"],
        ["Søren Østergaard Kjærsgaard", "person", "-", "39,60 %", "Indirekte via 2 led"],
        ["Łukasz Żółć", "person", "-", "13,65 %", "Indirekte via Nordhavn Kapital Holding A/S og Bryggens"],
    ]
    for i in range(extra_rows):
        owners.append([f"Minoritetsaktionær nr. {i + 1} ApS", f"4{i:07d}", "0,01 %", "0,01 %", "Direkte"])
    return SectionDocument(
        title="Due diligence-rapport (KYC)",
        subtitle="Ærø Bryghus & Mølleri A/S · CVR 29 87 65 43",
        meta=[
            ("Rapportdato", "2. marts 2026"),
            ("Opgjort pr.", "1. marts 2026"),
            ("Udarbejdet af", "Revisionsfirmaet Ærø & Partnere, statsautoriserede revisorer"),
            ("Formål", "Kundekendskab efter hvidvaskloven § 11"),
        ],
        sections=[
            Section(
                "Stamdata",
                [
                    Facts(
                        [
                            ("Navn", "Ærø Bryghus & Mølleri A/S"),
                            ("CVR-nr.", "29 87 65 43"),
                            ("Adresse", "Havnegade 14, 5970 Ærøskøbing"),
                            ("Virksomhedsform", "Aktieselskab"),
                            ("Stiftet", "14. april 2006"),
                            ("Branche", "110500 Fremstilling af øl"),
                            (
                                "Formål",
                                "Selskabets formål er at drive bryggeri, malteri og mølleri samt handel "
                                "med og distribution af drikkevarer og fødevarer, herunder eksport til de "
                                "nordiske lande og anden hermed beslægtet virksomhed.",
                            ),
                            ("Status", "Normal"),
                            ("Revisor", "Revisionsfirmaet Ærø & Partnere"),
                        ]
                    )
                ],
            ),
            Section(
                "Ejerforhold",
                [
                    Paragraph(
                        "Direkte og indirekte ejere med mindst 5 % af kapitalen eller stemmerne. Indirekte "
                        "andele er ganget op gennem hvert led; parallelle veje er lagt sammen."
                    ),
                    Table(
                        ["Ejer", "CVR-nr.", "Direkte", "Samlet", "Vej"],
                        [*owners, ["I alt direkte", "", "100,00 %", "", ""]],
                        align=["L", "L", "R", "R", "L"],
                        widths=[3.2, 1.3, 1.1, 1.1, 3.0],
                        bold_rows=frozenset({len(owners)}),
                    ),
                ],
            ),
            Section("Koncernstruktur", [group_diagram()]),
            Section(
                "Reelle ejere",
                [
                    Table(
                        ["Navn", "Fødselsår", "Land", "Samlet andel", "Grundlag"],
                        [
                            ["Søren Østergaard Kjærsgaard", "1968", "Danmark", "39,60 %", "Ejerskab"],
                            ["Łukasz Żółć", "1981", "Polen", "13,65 %", "Ejerskab"],
                        ],
                    ),
                    Notices(
                        [
                            Notice(
                                "warning",
                                "Ejerkæden indeholder en cirkel: Bryggens Ejendomsselskab A/S → "
                                "Fjordlys Fonden → Bryggens Ejendomsselskab A/S.",
                            ),
                            Notice(
                                "warning",
                                "15 % af kapitalen ejes af en ejer, der ikke er oplyst i registret.",
                            ),
                            Notice(
                                "info",
                                "Bryghus Norge AS er registreret i Norge; norske oplysninger er hentet "
                                "fra Brønnøysundregistrene.",
                            ),
                            Notice("ok", "Alle reelle ejere er identificeret med navn og fødselsår."),
                        ]
                    ),
                ],
            ),
            Section(
                "Datterselskaber",
                [
                    Table(
                        ["Selskab", "CVR-nr.", "Ejerandel", "Egenkapital (t.kr.)"],
                        [
                            ["Ærø Bryghus Salg ApS", "42102030", "100 %", "4.512"],
                            ["Marstal Malteri ApS", "42405060", "100 %", "12.874"],
                            ["Søby Logistik og Lager ApS", "43708090", "75 %", "-1.204"],
                            ["Bryghus Norge AS", "923456783", "100 %", "689"],
                            ["I alt", "", "", "16.871"],
                        ],
                        bold_rows=frozenset({4}),
                    )
                ],
            ),
        ],
        footer="Dannet 2. marts 2026 kl. 10.15 · Saldo",
        page_label="Side {page} af {pages}",
        language="da-DK",
        author="Revisionsfirmaet Ærø & Partnere",
        generated_at=GENERATED,
    )


def main(out_dir: Path) -> None:
    import pypdfium2 as pdfium

    from saldo.render.section_pdf import render_section_pdf

    out_dir.mkdir(parents=True, exist_ok=True)
    data = render_section_pdf(due_diligence(60))
    (out_dir / "due-diligence.pdf").write_bytes(data)
    doc = pdfium.PdfDocument(data)
    for i in range(len(doc)):
        doc[i].render(scale=150 / 72).to_pil().save(out_dir / f"due-diligence-{i + 1}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/section_pdf"))
