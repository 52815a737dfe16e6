"""PDF output for a `SectionDocument` (company reports: facts, tables, notices, a group diagram), drawn with
fpdf2 in the house style of `render.pdf` (same fonts, colours and margins).

* A4 portrait. Page 1 opens with a title block; later pages carry a running header (company line left,
  title right). Every page has a footer (`document.footer` left, the page label right); page numbers are
  stamped once the page count is final.
* Pages are broken by hand: a section heading is kept with the start of its first block, a table repeats
  its header row on every page it spans, and a row taller than a page is split between lines rather than
  cut. Text is wrapped by measuring it with the embedded font, so nothing is clipped silently.
* The group diagram is laid out by `layout_diagram` (layers as rows of boxes, barycenter ordering, wide
  layers wrapped into several rows, orthogonal routes for edges that skip rows) and always sits on one
  page, scaled down when it is taller than a page.
* Characters the font lacks become ``?`` and control characters become spaces, so hostile input cannot
  break the layout or the PDF.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import IO, Any

from saldo.render.pdf import (
    FAMILY,
    FONT_DIR,
    GROUP_FILL,
    HEADER_FILL,
    INK,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    MM_PER_PT,
    MUTED,
    RULE,
    RUNNING_HEADER_H,
    ZEBRA_FILL,
)
from saldo.render.sections import (
    Diagram,
    Edge,
    Facts,
    Node,
    Notices,
    Paragraph,
    Section,
    SectionDocument,
    Table,
)

PAGE_W, PAGE_H = 210.0, 297.0
FOOTER_H = 7.0
USABLE_W = PAGE_W - 2 * MARGIN_X
BOTTOM_Y = PAGE_H - MARGIN_BOTTOM - FOOTER_H
BODY_TOP = MARGIN_TOP + RUNNING_HEADER_H + 1.0

BODY_SIZE = 8.5
PARA_SIZE = 9.0
LINE = 1.3  # line height as a multiple of the font size
CELL_PAD_X = 1.5
CELL_PAD_Y = 1.1
HEADING_SIZE = 11.0
BLOCK_GAP = 3.5

NOTICE_COLOURS = {"warning": (214, 118, 0), "info": (37, 99, 178), "ok": (34, 139, 74)}
FACT_RULE = (226, 230, 235)

# Diagram geometry (mm) and colours.
BOX_MAX_W = 46.0
BOX_MIN_W = 24.0
BOX_GAP = 5.0
ROW_GAP = 13.0
LANE = 3.0  # free strip at either side, so a routed edge always finds a way past a full row
BOX_PAD = 1.6
TITLE_MAX = 7.5
TITLE_MIN = 5.5
EDGE_LABEL_SIZE = 6.0
ARROW_LEN = 2.0
ARROW_HALF = 0.85
FOCUS_FILL = (222, 234, 248)
FOCUS_BORDER = (31, 78, 140)
COMPANY_BORDER = (110, 120, 132)
PERSON_FILL = (248, 243, 231)
PERSON_BORDER = (160, 135, 90)
MISSING_INK = (150, 156, 164)
EDGE_INK = (88, 98, 110)


# --------------------------------------------------------------------------------------------------
# Text: cleaning, measuring, wrapping

# DejaVu Sans cut to the scripts the company reports print (Latin with its extensions, Greek with its
# polytonic letters, Cyrillic,
# punctuation, currency, arrows, maths, shapes) without the layout tables fpdf2 does not use here: a third
# of the size, so each document parses and subsets its fonts about three times faster
# (docs/BENCHMARKS.md, "Batch reports"). saldo/fonts/README.md has the command that makes them.
REPORT_FONT_FILES = {"": "DejaVuSans-Reports.ttf", "B": "DejaVuSans-Bold-Reports.ttf"}


@functools.cache
def _metrics() -> dict[str, tuple[dict[int, float], frozenset[int]]]:
    """Glyph widths and covered code points of the embedded fonts, per style."""
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    out = {}
    for style, name in REPORT_FONT_FILES.items():
        pdf.add_font(FAMILY, style, str(FONT_DIR / name))
        font = pdf.fonts[FAMILY.lower() + style]
        out[style] = (dict(font.cw), frozenset(font.cmap))
    return out


@functools.cache
def _covered() -> frozenset[int]:
    """Code points both styles can draw (a value may be drawn bold in a sum row)."""
    m = _metrics()
    return m[""][1] & m["B"][1]


_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str, keep_newlines: bool = True) -> str:
    """Text the embedded font can draw: line breaks normalised (or flattened), other control characters
    as spaces, characters the font lacks as ``?``."""
    text = _LINE_BREAKS.sub("\n", str(text))
    text = _CONTROL.sub(" ", text)
    if not keep_newlines:
        text = text.replace("\n", " ")
    covered = _covered()
    if all(ord(c) in covered or c == "\n" for c in text):
        return text
    return "".join(c if c == "\n" or ord(c) in covered else "?" for c in text)


def text_width(text: str, style: str = "", size: float = BODY_SIZE) -> float:
    """Width in mm of cleaned `text` at `size` pt."""
    cw = _metrics()[style][0]
    return sum(cw.get(ord(c), 500) for c in text) * size * 0.001 * MM_PER_PT


def wrap_text(text: str, width: float, style: str = "", size: float = BODY_SIZE) -> list[str]:
    """Cleaned `text` broken into lines no wider than `width`: at spaces where possible, inside a word
    only when the word alone is too wide. Explicit line breaks are kept."""
    cw = _metrics()[style][0]
    scale = size * 0.001 * MM_PER_PT
    limit = max(width, 0.5) / scale  # compare in font units
    space = cw.get(32, 318)
    lines: list[str] = []
    for para in text.split("\n"):
        words = para.split(" ")
        line: list[str] = []
        used = 0.0
        for word in words:
            ww = sum(cw.get(ord(c), 500) for c in word)
            extra = ww + (space if line else 0)
            if used + extra <= limit:
                line.append(word)
                used += extra
                continue
            if line:
                lines.append(" ".join(line))
                line, used = [], 0.0
            if ww <= limit:
                line, used = [word], ww
                continue
            # A word wider than the line (an URL, a 500-character name): break it between characters.
            chunk: list[str] = []
            cu = 0.0
            for c in word:
                w = cw.get(ord(c), 500)
                if chunk and cu + w > limit:
                    lines.append("".join(chunk))
                    chunk, cu = [], 0.0
                chunk.append(c)
                cu += w
            line, used = (["".join(chunk)], cu) if chunk else ([], 0.0)
        lines.append(" ".join(line))
    return lines


def _ellipsize(text: str, width: float, style: str, size: float) -> str:
    if text_width(text, style, size) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid] + "\u2026", style, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "\u2026"


def _line_h(size: float) -> float:
    return size * MM_PER_PT * LINE


# --------------------------------------------------------------------------------------------------
# Diagram layout


@dataclass(frozen=True, slots=True)
class PlacedBox:
    """A node's box in diagram coordinates (mm, origin top left of the diagram)."""

    node: Node
    x: float
    y: float
    w: float
    h: float
    row: int
    title_lines: tuple[str, ...]
    title_size: float
    subtitle: str
    subtitle_size: float


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    """An edge as a polyline from owner to owned (the arrowhead at the last point) and its label box."""

    edge: Edge
    points: tuple[tuple[float, float], ...]
    label: str
    label_box: tuple[float, float, float, float] | None  # x, y, w, h


@dataclass(frozen=True, slots=True)
class DiagramLayout:
    boxes: tuple[PlacedBox, ...]
    edges: tuple[PlacedEdge, ...]
    width: float
    height: float


def _order_layers(diagram: Diagram) -> list[list[Node]]:
    """Nodes per layer (top to bottom), ordered by a few barycenter sweeps to reduce crossings."""
    layer_keys = sorted({n.layer for n in diagram.nodes})
    layers = [[n for n in diagram.nodes if n.layer == k] for k in layer_keys]
    index = {k: i for i, k in enumerate(layer_keys)}
    layer_of = {n.id: index[n.layer] for n in diagram.nodes}
    neighbours: dict[str, list[str]] = {n.id: [] for n in diagram.nodes}
    for e in diagram.edges:
        if e.owner != e.owned:
            neighbours[e.owner].append(e.owned)
            neighbours[e.owned].append(e.owner)

    def positions() -> dict[str, float]:
        return {n.id: (i + 0.5) / len(layer) for layer in layers for i, n in enumerate(layer)}

    def crossings() -> int:
        pos = positions()
        segs = [
            (pos[e.owner], pos[e.owned])
            if layer_of[e.owner] < layer_of[e.owned]
            else (pos[e.owned], pos[e.owner])
            for e in diagram.edges
            if abs(layer_of[e.owner] - layer_of[e.owned]) == 1
        ]
        return sum(
            1 for i, (a1, b1) in enumerate(segs) for a2, b2 in segs[i + 1 :] if (a1 - a2) * (b1 - b2) < 0
        )

    best = [list(layer) for layer in layers]
    best_cross = crossings() if len(diagram.edges) <= 400 else 0
    for sweep in range(4):
        down = sweep % 2 == 0
        order = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for li in order:
            pos = positions()
            keyed = []
            for i, n in enumerate(layers[li]):
                near = [pos[m] for m in neighbours[n.id] if (layer_of[m] < li if down else layer_of[m] > li)]
                own = (i + 0.5) / len(layers[li])
                keyed.append((sum(near) / len(near) if near else own, i, n))
            layers[li] = [n for _, _, n in sorted(keyed, key=lambda t: (t[0], t[1]))]
        if len(diagram.edges) <= 400:
            c = crossings()
            if c < best_cross:
                best, best_cross = [list(layer) for layer in layers], c
        else:
            best = layers
    return best


def _fit_box_text(node: Node, w: float) -> tuple[tuple[str, ...], float, str, float]:
    """Title lines (at most two) and sizes: the largest title size at which the title wraps into two
    lines; below the smallest size the second line ends with an ellipsis."""
    inner = w - 2 * BOX_PAD
    title = clean_text(node.title, keep_newlines=False).strip() or "?"
    subtitle = clean_text(node.subtitle, keep_newlines=False).strip()
    size = TITLE_MAX
    while True:
        lines = wrap_text(title, inner, "B", size)
        if len(lines) <= 2 or size <= TITLE_MIN:
            break
        size = max(TITLE_MIN, size - 0.5)
    if len(lines) > 2:
        rest = " ".join(lines[1:])
        lines = [lines[0], _ellipsize(rest, inner, "B", size)]
    sub_size = max(TITLE_MIN, size - 1.5)
    if subtitle:
        subtitle = _ellipsize(subtitle, inner, "", sub_size)
    return tuple(lines), size, subtitle, sub_size


def _box_height() -> float:
    return 2 * BOX_PAD + 2 * _line_h(TITLE_MAX) * 0.92 + 0.5 + _line_h(TITLE_MAX - 1.5) * 0.92


def layout_diagram(diagram: Diagram, width: float = USABLE_W) -> DiagramLayout:
    """Place the diagram's boxes and route its edges within `width` mm.

    Layers become rows from the top owners down to the lowest subsidiaries; a layer with more boxes than
    fit at the minimum box width wraps into several rows. Edges between neighbouring rows are straight
    lines; edges that skip rows, point upwards past a row, or stay within a row run orthogonally through
    the gaps between rows and a free vertical lane.
    """
    box_h = _box_height()
    avail = max(width - 2 * LANE, BOX_MIN_W)
    per_row_max = max(1, int((avail + BOX_GAP) // (BOX_MIN_W + BOX_GAP)))

    boxes: list[PlacedBox] = []
    y = 0.0
    row = 0
    for layer in _order_layers(diagram):
        n = len(layer)
        rows = math.ceil(n / per_row_max)
        per_row = math.ceil(n / rows)
        w = min(BOX_MAX_W, (avail - (per_row - 1) * BOX_GAP) / per_row)
        for r in range(rows):
            chunk = layer[r * per_row : (r + 1) * per_row]
            total = len(chunk) * w + (len(chunk) - 1) * BOX_GAP
            x = (width - total) / 2
            for node in chunk:
                lines, size, sub, sub_size = _fit_box_text(node, w)
                boxes.append(PlacedBox(node, x, y, w, box_h, row, lines, size, sub, sub_size))
                x += w + BOX_GAP
            y += box_h + ROW_GAP
            row += 1
    by_id = {b.node.id: b for b in boxes}
    edges = _route_edges(diagram.edges, by_id, boxes, width, box_h)

    # The diagram's extent includes routes above the first row or below the last.
    ys = [p[1] for e in edges for p in e.points] + [b.y for b in boxes] + [b.y + b.h for b in boxes]
    top = min([0.0, *ys])
    bottom = max(ys) if ys else 0.0
    if top < 0:
        boxes = [_shift_box(b, -top) for b in boxes]
        edges = [_shift_edge(e, -top) for e in edges]
    return DiagramLayout(tuple(boxes), tuple(edges), width, bottom - top)


def _shift_box(b: PlacedBox, dy: float) -> PlacedBox:
    return PlacedBox(
        b.node, b.x, b.y + dy, b.w, b.h, b.row, b.title_lines, b.title_size, b.subtitle, b.subtitle_size
    )


def _shift_edge(e: PlacedEdge, dy: float) -> PlacedEdge:
    lb = e.label_box
    return PlacedEdge(
        e.edge,
        tuple((x, y + dy) for x, y in e.points),
        e.label,
        (lb[0], lb[1] + dy, lb[2], lb[3]) if lb else None,
    )


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _route_edges(
    edges: Sequence[Edge], by_id: dict[str, PlacedBox], boxes: list[PlacedBox], width: float, box_h: float
) -> list[PlacedEdge]:
    rows: dict[int, list[PlacedBox]] = {}
    for b in boxes:
        rows.setdefault(b.row, []).append(b)

    # Which side of each box an edge leaves and enters: towards the other box's row.
    ends: list[tuple[str, str]] = []
    for e in edges:
        s, t = by_id[e.owner], by_id[e.owned]
        if t.row > s.row:
            ends.append(("bottom", "top"))
        elif t.row < s.row:
            ends.append(("top", "bottom"))
        else:
            ends.append(("bottom", "bottom"))

    # A layer wrapped into several rows is reached like an org chart (down, across, down), and so is any
    # row that is not the next one; only edges between neighbouring single rows are straight lines.
    layer_rows: dict[int, set[int]] = {}
    for b in boxes:
        layer_rows.setdefault(b.node.layer, set()).add(b.row)

    def wrapped(b: PlacedBox) -> bool:
        return len(layer_rows[b.node.layer]) > 1

    routed = [
        abs(by_id[e.owned].row - by_id[e.owner].row) != 1
        or wrapped(by_id[e.owner])
        or wrapped(by_id[e.owned])
        for e in edges
    ]

    row_top = {r: min(b.y for b in bs) for r, bs in rows.items()}

    def channel(r: int, below: bool) -> float:
        return row_top[r] + box_h + ROW_GAP / 2 if below else row_top[r] - ROW_GAP / 2

    def free_x(y_a: float, y_b: float, want: float) -> float:
        """An x where a vertical line from y_a to y_b passes no box, nearest to `want`."""
        lo, hi = min(y_a, y_b), max(y_a, y_b)
        blocked = sorted((b.x - 1.2, b.x + b.w + 1.2) for b in boxes if b.y < hi and b.y + b.h > lo)
        free: list[tuple[float, float]] = []
        cur = 0.3
        for a, z in blocked:
            if a > cur:
                free.append((cur, a))
            cur = max(cur, z)
        if cur < width - 0.3:
            free.append((cur, width - 0.3))
        if not free:
            return 0.5
        best = min(
            free, key=lambda iv: 0.0 if iv[0] <= want <= iv[1] else min(abs(want - iv[0]), abs(want - iv[1]))
        )
        return min(max(want, best[0]), best[1])

    # Spread the ends on each side of a box over its middle two thirds, ordered by where the other box
    # is, so lines do not cross at the box and two edges between the same pair of boxes (a reciprocal
    # holding) run clearly apart, at about one third and two thirds of the width. A routed edge gets its
    # own end where it enters the owned box; the routed edges of one owner leave it from one shared end,
    # so their common runs overlap as one line.
    def lane(y_a: float, y_b: float, x_a: float, x_b: float) -> float:
        """The x of the vertical run between the channels: free of boxes, with the least way across."""
        options = (free_x(y_a, y_b, x_b), free_x(y_a, y_b, x_a))
        return min(options, key=lambda x: abs(x - x_a) + abs(x - x_b) - 0.01 * (x == options[0]))

    # A routed edge's ends are ordered by where its route turns to: the free lane it runs down, as
    # found from the boxes' centres.
    towards: dict[int, tuple[float, float]] = {}
    for i, e in enumerate(edges):
        s, t = by_id[e.owner], by_id[e.owned]
        c0, c1 = s.x + s.w / 2, t.x + t.w / 2
        if not routed[i] or e.owner == e.owned:
            towards[i] = (c1, c0)
            continue
        y1 = channel(s.row, below=ends[i][0] == "bottom")
        y2 = channel(t.row, below=ends[i][1] == "bottom")
        if s.row == t.row or y1 == y2:
            towards[i] = (c1, c0)
            continue
        xl = lane(y1, y2, c0, c1)
        towards[i] = (c1 if abs(xl - c0) < 0.01 else xl, c0 if abs(xl - c1) < 0.01 else xl)

    attach: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    shared_start: dict[tuple[str, str], int] = {}
    group: dict[tuple[str, str], list[float]] = {}
    for i, e in enumerate(edges):
        if routed[i] and e.owner != e.owned:
            group.setdefault((e.owner, ends[i][0]), []).append(towards[i][0])
    for i, e in enumerate(edges):
        if e.owner == e.owned:
            continue
        if routed[i]:
            key = (e.owner, ends[i][0])
            if key not in shared_start:
                shared_start[key] = i
                attach.setdefault(key, []).append((sum(group[key]) / len(group[key]), i, 0))
        else:
            attach.setdefault((e.owner, ends[i][0]), []).append((towards[i][0], i, 0))
        attach.setdefault((e.owned, ends[i][1]), []).append((towards[i][1], i, 1))
    port: dict[tuple[int, int], tuple[float, float]] = {}
    for (node_id, side), items in attach.items():
        b = by_id[node_id]
        items.sort()
        k = len(items)
        step = b.w * (2 / 3) / k
        yy = b.y + b.h if side == "bottom" else b.y
        for j, (_, i, which) in enumerate(items):
            port[(i, which)] = (b.x + b.w / 2 + (j - (k - 1) / 2) * step, yy)
    for i, e in enumerate(edges):
        if routed[i] and e.owner != e.owned:
            port[(i, 0)] = port[(shared_start[(e.owner, ends[i][0])], 0)]

    channel_use: dict[float, list[str]] = {}
    polylines: list[tuple[tuple[float, float], ...]] = []
    for i, e in enumerate(edges):
        s, t = by_id[e.owner], by_id[e.owned]
        if e.owner == e.owned:  # a company holding its own shares: a small loop on its right
            x1, ym = s.x + s.w, s.y + s.h / 2
            polylines.append(((x1, ym - 2.5), (x1 + 2.0, ym - 2.5), (x1 + 2.0, ym + 2.5), (x1, ym + 2.5)))
            continue
        p0, p1 = port[(i, 0)], port[(i, 1)]
        if not routed[i]:
            polylines.append((p0, p1))
            continue
        y1 = channel(s.row, below=ends[i][0] == "bottom")
        y2 = channel(t.row, below=ends[i][1] == "bottom")
        # Horizontal runs of different edges in one channel are set a little apart.
        y1 += _channel_offset(channel_use, y1, e.owner)
        y2 += _channel_offset(channel_use, y2, e.owner)
        if y1 == y2 or s.row == t.row:
            pts = (p0, (p0[0], y1), (p1[0], y1), p1)
        else:
            xl = lane(y1, y2, p0[0], p1[0])
            pts = _dedupe((p0, (p0[0], y1), (xl, y1), (xl, y2), (p1[0], y2), p1))
        polylines.append(pts)

    labels = _place_labels(edges, polylines, routed, by_id, boxes, width)
    return [
        PlacedEdge(e, pts, label, box) for e, pts, (label, box) in zip(edges, polylines, labels, strict=True)
    ]


Rect = tuple[float, float, float, float]


def _segment_hits(p: tuple[float, float], q: tuple[float, float], r: Rect) -> bool:
    """Whether the segment p-q passes through the inside of the rectangle r (x, y, w, h)."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, v in ((dx, r[0], r[0] + r[2], p[0]), (dy, r[1], r[1] + r[3], p[1])):
        if abs(d) < 1e-9:
            if not lo < v < hi:
                return False
            continue
        a, b = (lo - v) / d, (hi - v) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 >= t1:
            return False
    return True


def _arrow_box(pts: Sequence[tuple[float, float]]) -> Rect:
    (ax, ay), (bx, by) = pts[-2], pts[-1]
    length = math.hypot(bx - ax, by - ay) or 1.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    base = (bx - ux * ARROW_LEN, by - uy * ARROW_LEN)
    xs = (bx, base[0] - uy * ARROW_HALF, base[0] + uy * ARROW_HALF)
    ys = (by, base[1] + ux * ARROW_HALF, base[1] - ux * ARROW_HALF)
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _grow(r: Rect, m: float) -> Rect:
    return (r[0] - m, r[1] - m, r[2] + 2 * m, r[3] + 2 * m)


def _place_labels(
    edges: Sequence[Edge],
    polylines: Sequence[tuple[tuple[float, float], ...]],
    routed: Sequence[bool],
    by_id: dict[str, PlacedBox],
    boxes: Sequence[PlacedBox],
    width: float,
) -> list[tuple[str, Rect | None]]:
    """A box for each edge's label: on its own line where that is clear, else beside it; never over
    another label, a box or an arrowhead, and not across another edge's line where that can be helped.
    The two edges of a reciprocal holding get their labels beside their lines, each on the outer side."""
    lh = _line_h(EDGE_LABEL_SIZE) + 0.2
    node_rects = [_grow((b.x, b.y, b.w, b.h), 0.4) for b in boxes]
    arrows = [_grow(_arrow_box(pts), 0.2) for pts in polylines]

    # reciprocal pairs between neighbouring rows: which side of the pair each edge's line is on
    outer: dict[int, float] = {}
    pair_of: dict[frozenset[str], list[int]] = {}
    for i, e in enumerate(edges):
        if e.owner != e.owned and not routed[i]:
            pair_of.setdefault(frozenset((e.owner, e.owned)), []).append(i)
    for members in pair_of.values():
        if len(members) == 2:
            mids = [sum(x for x, _ in polylines[i]) / len(polylines[i]) for i in members]
            left, right = (members[0], members[1]) if mids[0] <= mids[1] else (members[1], members[0])
            outer[left], outer[right] = -1.0, 1.0

    def beside(a: tuple[float, float], b: tuple[float, float], tpos: float, side: float, lw: float) -> Rect:
        """The label box next to the segment a-b at `tpos`, on the left (-1) or right (+1), clear of it."""
        cy = a[1] + (b[1] - a[1]) * tpos
        y0, y1 = cy - lh / 2, cy + lh / 2
        if abs(b[1] - a[1]) < 1e-9:  # a horizontal run: above (-1) or below (+1)
            cx = a[0] + (b[0] - a[0]) * tpos
            return (cx - lw / 2, cy + side * (lh / 2 + 0.6) - lh / 2, lw, lh)

        def x_at(y: float) -> float:
            u = min(max((y - a[1]) / (b[1] - a[1]), 0.0), 1.0)
            return a[0] + (b[0] - a[0]) * u

        xs = (x_at(y0), x_at(y1))
        gap = 0.9
        return (min(xs) - gap - lw, y0, lw, lh) if side < 0 else (max(xs) + gap, y0, lw, lh)

    placed: list[Rect] = []
    out: list[tuple[str, Rect | None]] = []
    for i, e in enumerate(edges):
        label = clean_text(e.label, keep_newlines=False).strip()
        if not label:
            out.append((label, None))
            continue
        lw = text_width(label, "", EDGE_LABEL_SIZE) + 1.2
        pts = polylines[i]
        cands: list[Rect] = []
        if e.owner == e.owned:
            s = by_id[e.owner]
            x1 = s.x + s.w
            cands += [(x1 - lw - 0.5, s.y + s.h + 0.6, lw, lh), (x1 + 2.8, s.y + s.h / 2 - lh / 2, lw, lh)]
            cands += [(x1 - lw - 0.5, s.y - lh - 0.6, lw, lh)]
        else:
            segments = [(pts[-2], pts[-1])] + [(pts[k], pts[k + 1]) for k in range(len(pts) - 2)]
            if i in outer:
                a, b = segments[0]
                cands += [beside(a, b, tpos, outer[i], lw) for tpos in (0.5, 0.4, 0.6, 0.3, 0.7)]
            for a, b in segments:
                for tpos in (0.5, 0.4, 0.6, 0.3, 0.7):
                    cx, cy = a[0] + (b[0] - a[0]) * tpos, a[1] + (b[1] - a[1]) * tpos
                    cands.append((cx - lw / 2, cy - lh / 2, lw, lh))
                for tpos in (0.5, 0.35, 0.65):
                    cands += [beside(a, b, tpos, -1.0, lw), beside(a, b, tpos, 1.0, lw)]

        def cost(r: Rect, i: int = i) -> tuple[int, int]:
            hard = int(r[0] < 0 or r[0] + r[2] > width)
            hard += sum(_overlaps(_grow(r, 0.3), o) for o in placed)
            hard += sum(_overlaps(r, n) for n in node_rects)
            hard += sum(_overlaps(r, a) for a in arrows)
            soft = sum(
                _segment_hits(polylines[j][k], polylines[j][k + 1], r)
                for j in range(len(polylines))
                if j != i
                for k in range(len(polylines[j]) - 1)
            )
            return hard, soft

        best, best_cost = cands[0], cost(cands[0])
        for r in cands:
            c = cost(r)
            if c < best_cost:
                best, best_cost = r, c
            if c == (0, 0):
                break
        placed.append(best)
        out.append((label, best))
    return out


def _channel_offset(use: dict[float, list[str]], y: float, owner: str) -> float:
    """Runs of different owners in one channel are set apart (0, -1, +1, -2 ... mm, within the gap)."""
    owners = use.setdefault(y, [])
    if owner not in owners:
        owners.append(owner)
    n = owners.index(owner)
    limit = int(ROW_GAP / 2 - 2.5)
    step = (n + 1) // 2
    if step > limit:
        step = (step - 1) % limit + 1 if limit > 0 else 0
    return step * (1.0 if n % 2 else -1.0)


def _dedupe(points: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Drop repeated points and middle points of straight runs."""
    pts: list[tuple[float, float]] = []
    for p in points:
        if pts and abs(p[0] - pts[-1][0]) < 0.01 and abs(p[1] - pts[-1][1]) < 0.01:
            continue
        if len(pts) >= 2:
            (ax, ay), (bx, by) = pts[-2], pts[-1]
            if (abs(ax - bx) < 0.01 and abs(bx - p[0]) < 0.01) or (
                abs(ay - by) < 0.01 and abs(by - p[1]) < 0.01
            ):
                pts[-1] = p
                continue
        pts.append(p)
    return tuple(pts)


# --------------------------------------------------------------------------------------------------
# Drawing


@functools.cache
def _pdf_class() -> type:
    from fpdf import FPDF

    class SectionPDF(FPDF):  # type: ignore[misc]
        document: SectionDocument

        def header(self) -> None:
            if self.page > 1:
                _running_header(self, self.document)

        def footer(self) -> None:
            y = BOTTOM_Y + 2.0
            self.set_dash_pattern()
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(MARGIN_X, y, PAGE_W - MARGIN_X, y)
            _text(
                self,
                MARGIN_X,
                y + 0.8,
                USABLE_W * 0.7,
                4,
                clean_text(self.document.footer, False),
                "",
                7,
                MUTED,
            )

    return SectionPDF


def _text(
    pdf: Any,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    style: str,
    size: float,
    colour: tuple[int, int, int],
    align: str = "L",
) -> None:
    """One line of already cleaned and fitted text in a box of height `h`."""
    if not text:
        return
    pdf.set_font(FAMILY, style, size)
    pdf.set_text_color(*colour)
    pdf.set_xy(x, y)
    pdf.cell(w, h, text, align=align)


def _running_header(pdf: Any, doc: SectionDocument) -> None:
    y = MARGIN_TOP
    title = clean_text(doc.title, False)
    tw = min(text_width(title, "", 8), USABLE_W * 0.45)
    _text(pdf, PAGE_W - MARGIN_X - tw, y, tw, 4.5, _ellipsize(title, tw, "", 8), "", 8, MUTED, "R")
    left_w = USABLE_W - tw - 4
    company = _ellipsize(clean_text(doc.subtitle, False), left_w, "B", 8.5)
    _text(pdf, MARGIN_X, y, left_w, 4.5, company, "B", 8.5, INK)
    pdf.set_dash_pattern()
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    line_y = y + RUNNING_HEADER_H - 4.5
    pdf.line(MARGIN_X, line_y, PAGE_W - MARGIN_X, line_y)


class _Writer:
    """The cursor over the pages: everything below is drawn at `y` and breaks pages by hand."""

    def __init__(self, document: SectionDocument) -> None:
        from fpdf import FPDF

        cls = _pdf_class()
        pdf: FPDF = cls(orientation="P", unit="mm", format="A4")
        pdf.document = document
        for style, name in REPORT_FONT_FILES.items():
            pdf.add_font(FAMILY, style, str(FONT_DIR / name))
        pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        pdf.set_auto_page_break(False)
        pdf.c_margin = 0
        pdf.set_title(clean_text(document.title, False))
        pdf.set_subject(clean_text(document.subtitle, False))
        pdf.set_author(clean_text(document.author, False))
        pdf.set_creator("Saldo")
        pdf.set_lang(document.language or "en")
        generated = document.generated_at
        if generated.tzinfo is None:
            generated = generated.replace(tzinfo=UTC)
        pdf.set_creation_date(generated)
        pdf.set_display_mode("fullwidth", "continuous")
        self.pdf = pdf
        self.doc = document
        self.y = 0.0

    # -- pages

    def new_page(self) -> None:
        self.pdf.add_page()
        self.y = BODY_TOP if self.pdf.page > 1 else MARGIN_TOP

    def room(self) -> float:
        return BOTTOM_Y - self.y

    def at_top(self) -> bool:
        return self.y <= BODY_TOP + 0.01

    def ensure(self, h: float) -> bool:
        """Start a new page unless `h` fits below the cursor (or the page is still empty); True when a
        page was started."""
        if self.y + h > BOTTOM_Y + 0.01 and not self.at_top():
            self.new_page()
            return True
        return False

    # -- title block

    def title_block(self) -> None:
        doc = self.doc
        pdf = self.pdf
        w = USABLE_W
        for line in wrap_text(clean_text(doc.title), w, "B", 16):
            _text(pdf, MARGIN_X, self.y, w, 7.5, line, "B", 16, INK)
            self.y += 7.5
        if doc.subtitle:
            self.y += 0.5
            for line in wrap_text(clean_text(doc.subtitle), w, "B", 10.5):
                _text(pdf, MARGIN_X, self.y, w, 5.2, line, "B", 10.5, INK)
                self.y += 5.2
        if doc.meta:
            self.y += 1.5
            # Label/value pairs, two to a line: muted labels, values that wrap within their half.
            half = (w - 6) / 2
            pairs = list(doc.meta)
            label_w = min(max(text_width(clean_text(k, False), "", 8.5) for k, _ in pairs) + 3, half * 0.5)
            lh = _line_h(8.5)
            for i in range(0, len(pairs), 2):
                heights = []
                for j, (k, v) in enumerate(pairs[i : i + 2]):
                    x = MARGIN_X + j * (half + 6)
                    k_lines = wrap_text(clean_text(k, False), label_w - 2, "", 8.5)
                    v_lines = wrap_text(clean_text(v), half - label_w, "", 8.5)
                    for n, line in enumerate(k_lines):
                        _text(pdf, x, self.y + n * lh, label_w, lh, line, "", 8.5, MUTED)
                    for n, line in enumerate(v_lines):
                        _text(pdf, x + label_w, self.y + n * lh, half - label_w, lh, line, "", 8.5, INK)
                    heights.append(max(len(k_lines), len(v_lines)) * lh)
                self.y += max(heights)
                if self.y > BOTTOM_Y - 20:  # absurdly long meta: carry on over the page
                    self.new_page()
        self.y += 2.0
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.5)
        pdf.line(MARGIN_X, self.y, PAGE_W - MARGIN_X, self.y)
        self.y += 5.0

    # -- sections

    def section(self, section: Section) -> None:
        title_lines = wrap_text(clean_text(section.title), USABLE_W, "B", HEADING_SIZE)
        lh = _line_h(HEADING_SIZE)
        heading_h = len(title_lines) * lh + 2.8
        first = section.blocks[0] if section.blocks else None
        start = self.block_start_height(first) if first is not None else 0.0
        gap = 0.0 if self.at_top() else 3.0
        # Keep the heading with the start of its first block (the whole diagram, if it fits a page).
        if self.y + gap + heading_h + min(start, BOTTOM_Y - BODY_TOP - heading_h) > BOTTOM_Y:
            self.ensure(BOTTOM_Y)
            gap = 0.0
        self.y += gap
        for line in title_lines:
            _text(self.pdf, MARGIN_X, self.y, USABLE_W, lh, line, "B", HEADING_SIZE, INK)
            self.y += lh
        self.y += 0.8
        self.pdf.set_dash_pattern()
        self.pdf.set_draw_color(*RULE)
        self.pdf.set_line_width(0.35)
        self.pdf.line(MARGIN_X, self.y, PAGE_W - MARGIN_X, self.y)
        self.y += 2.0
        for i, block in enumerate(section.blocks):
            if i:
                self.y += BLOCK_GAP
            self.block(block)
        self.y += BLOCK_GAP

    def block_start_height(self, block: Any) -> float:
        """The height of the part of a block that must stay with its heading."""
        if isinstance(block, Paragraph):
            n = len(wrap_text(clean_text(block.text), USABLE_W, "", PARA_SIZE))
            return min(n, 2) * _line_h(PARA_SIZE)
        if isinstance(block, Facts):
            if not block.items:
                return 0.0
            label_w = _facts_label_w([clean_text(k, False) for k, _ in block.items])
            k, v = block.items[0]
            n = max(
                len(wrap_text(clean_text(k, False), label_w - 2 * CELL_PAD_X, "", BODY_SIZE)),
                len(wrap_text(clean_text(v), USABLE_W - label_w - 2 * CELL_PAD_X, "", BODY_SIZE)),
            )
            return min(n, 4) * _line_h(BODY_SIZE) + 2 * CELL_PAD_Y
        if isinstance(block, Table):
            g = _TableGeometry(block)
            return g.head_h + g.first_row_h()
        if isinstance(block, Notices):
            return _line_h(BODY_SIZE) + 1.0
        if isinstance(block, Diagram):
            layout = layout_diagram(block)
            return layout.height + self.caption_height(block)
        return 0.0

    def block(self, block: Any) -> None:
        if isinstance(block, Paragraph):
            self.paragraph(block)
        elif isinstance(block, Facts):
            self.facts(block)
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Notices):
            self.notices(block)
        elif isinstance(block, Diagram):
            self.diagram(block)

    # -- paragraphs and notices

    def lines(
        self,
        lines: Sequence[str],
        x: float,
        w: float,
        style: str,
        size: float,
        colour: tuple[int, int, int],
        before_first: Callable[[float], None] | None = None,
    ) -> None:
        lh = _line_h(size)
        for n, line in enumerate(lines):
            self.ensure(lh)
            if n == 0 and before_first is not None:
                before_first(self.y)
            _text(self.pdf, x, self.y, w, lh, line, style, size, colour)
            self.y += lh

    def paragraph(self, p: Paragraph) -> None:
        lines = wrap_text(clean_text(p.text), USABLE_W, "", PARA_SIZE)
        self.lines(lines, MARGIN_X, USABLE_W, "", PARA_SIZE, MUTED if p.muted else INK)

    def notices(self, block: Notices) -> None:
        if not block.items:
            if block.empty:
                lines = wrap_text(clean_text(block.empty), USABLE_W, "", BODY_SIZE)
                self.lines(lines, MARGIN_X, USABLE_W, "", BODY_SIZE, MUTED)
            return
        indent = 5.0
        for i, notice in enumerate(block.items):
            if i:
                self.y += 1.2
            lines = wrap_text(clean_text(notice.text), USABLE_W - indent, "", BODY_SIZE)
            level = notice.level

            def marker(y: float, level: str = level) -> None:
                _marker(self.pdf, MARGIN_X + 1.8, y + _line_h(BODY_SIZE) / 2, level)

            self.lines(lines, MARGIN_X + indent, USABLE_W - indent, "", BODY_SIZE, INK, marker)

    # -- facts and tables

    def rows(
        self,
        cells: Sequence[Sequence[tuple[list[str], float, float, str, str, tuple[int, int, int]]]],
        fills: Sequence[tuple[int, int, int] | None],
        rules: Sequence[bool],
        rule_colour: tuple[int, int, int],
        header: Callable[[], None] | None = None,
    ) -> None:
        """Rows of wrapped cells (lines, x, w, align, style, colour), split between lines at page breaks;
        `header` is drawn again at the top of every new page."""
        lh = _line_h(BODY_SIZE)
        for row, fill, rule in zip(cells, fills, rules, strict=True):
            n = max((len(c[0]) for c in row), default=1) or 1
            start = 0
            while start < n:
                fits = int((self.room() - 2 * CELL_PAD_Y) // lh)
                whole_fits_fresh = n - start <= int((BOTTOM_Y - BODY_TOP - 12 - 2 * CELL_PAD_Y) // lh)
                if fits < n - start and (fits < 1 or whole_fits_fresh) and not self.at_top():
                    self.new_page()
                    if header:
                        header()
                    continue
                take = max(1, min(n - start, fits))
                h = take * lh + 2 * CELL_PAD_Y
                if fill:
                    self.pdf.set_fill_color(*fill)
                    self.pdf.rect(MARGIN_X, self.y, USABLE_W, h, style="F")
                if rule and start == 0:
                    self.pdf.set_draw_color(*rule_colour)
                    self.pdf.set_line_width(0.3)
                    self.pdf.line(MARGIN_X, self.y, PAGE_W - MARGIN_X, self.y)
                for lines, x, w, align, style, colour in row:
                    for k, line in enumerate(lines[start : start + take]):
                        y = self.y + CELL_PAD_Y + k * lh
                        _text(
                            self.pdf,
                            x + CELL_PAD_X,
                            y,
                            w - 2 * CELL_PAD_X,
                            lh,
                            line,
                            style,
                            BODY_SIZE,
                            colour,
                            align,
                        )
                self.y += h
                start += take
                if start < n:
                    self.new_page()
                    if header:
                        header()

    def facts(self, block: Facts) -> None:
        if not block.items:
            return
        labels = [clean_text(k, False) for k, _ in block.items]
        label_w = _facts_label_w(labels)
        value_w = USABLE_W - label_w
        cells = []
        for k, (_, v) in zip(labels, block.items, strict=True):
            cells.append(
                [
                    (
                        wrap_text(k, label_w - 2 * CELL_PAD_X, "", BODY_SIZE),
                        MARGIN_X,
                        label_w,
                        "L",
                        "",
                        MUTED,
                    ),
                    (
                        wrap_text(clean_text(v), value_w - 2 * CELL_PAD_X, "", BODY_SIZE),
                        MARGIN_X + label_w,
                        value_w,
                        "L",
                        "",
                        INK,
                    ),
                ]
            )
        rules = [i > 0 for i in range(len(cells))]
        self.rows(cells, [None] * len(cells), rules, FACT_RULE)
        self.pdf.set_draw_color(*FACT_RULE)
        self.pdf.set_line_width(0.3)

    def table(self, block: Table) -> None:
        g = _TableGeometry(block)
        body, align, widths, xs, inner = g.body, g.align, g.widths, g.xs, g.inner
        head_lines, head_h = g.head_lines, g.head_h

        def header() -> None:
            pdf = self.pdf
            pdf.set_fill_color(*HEADER_FILL)
            pdf.rect(MARGIN_X, self.y, USABLE_W, head_h, style="F")
            for i, lines in enumerate(head_lines):
                for k, line in enumerate(lines):
                    y = self.y + CELL_PAD_Y + 0.2 + k * _line_h(BODY_SIZE)
                    _text(
                        pdf,
                        xs[i] + CELL_PAD_X,
                        y,
                        inner[i],
                        _line_h(BODY_SIZE),
                        line,
                        "B",
                        BODY_SIZE,
                        INK,
                        align[i],
                    )
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.35)
            pdf.line(MARGIN_X, self.y + head_h, PAGE_W - MARGIN_X, self.y + head_h)
            self.y += head_h

        self.ensure(head_h + g.first_row_h())
        header()
        if not body:
            lines = wrap_text(clean_text(block.empty), USABLE_W - 2 * CELL_PAD_X, "", BODY_SIZE)
            self.rows([[(lines, MARGIN_X, USABLE_W, "L", "", MUTED)]], [None], [False], RULE)
            return
        cells = []
        fills: list[tuple[int, int, int] | None] = []
        rules = []
        zebra = False
        for r, row in enumerate(body):
            bold = r in block.bold_rows
            style = "B" if bold else ""
            cells.append(
                [
                    (wrap_text(text, inner[i], style, BODY_SIZE), xs[i], widths[i], align[i], style, INK)
                    for i, text in enumerate(row)
                ]
            )
            zebra = False if bold else not zebra
            fills.append(ZEBRA_FILL if zebra and not bold else (GROUP_FILL[2] if bold else None))
            rules.append(bold)
        self.rows(cells, fills, rules, RULE, header)
        self.pdf.set_draw_color(*RULE)
        self.pdf.set_line_width(0.3)
        self.pdf.line(MARGIN_X, self.y, PAGE_W - MARGIN_X, self.y)

    # -- diagram

    def caption_lines(self, block: Diagram) -> list[str]:
        return wrap_text(clean_text(block.caption), USABLE_W, "", 7.5) if block.caption else []

    def caption_height(self, block: Diagram) -> float:
        n = len(self.caption_lines(block))
        return n * _line_h(7.5) + 2.0 if n else 0.0

    def diagram(self, block: Diagram) -> None:
        if not block.nodes:
            return
        layout = layout_diagram(block)
        caption = self.caption_lines(block)
        cap_h = self.caption_height(block)
        full = BOTTOM_Y - BODY_TOP
        # A new page only helps when the diagram would then fit whole, or when little room is left; a
        # diagram taller than any page is scaled into the room below its heading instead.
        fits_a_page = layout.height + cap_h <= full
        if (
            layout.height + cap_h > self.room()
            and not self.at_top()
            and (fits_a_page or self.room() < full / 2)
        ):
            self.new_page()
        scale = min(1.0, (self.room() - cap_h) / layout.height) if layout.height > 0 else 1.0
        x0 = MARGIN_X + (USABLE_W - layout.width * scale) / 2
        _draw_diagram(self.pdf, layout, x0, self.y, scale)
        self.y += layout.height * scale
        if full <= 0:
            return
        if caption:
            self.y += 2.0
            for line in caption:
                _text(self.pdf, MARGIN_X, self.y, USABLE_W, _line_h(7.5), line, "", 7.5, MUTED, "C")
                self.y += _line_h(7.5)


def _facts_label_w(labels: Sequence[str]) -> float:
    widest = max(text_width(k, "", BODY_SIZE) for k in labels)
    return min(max(widest + 2 * CELL_PAD_X + 2, 30.0), USABLE_W * 0.4)


class _TableGeometry:
    """Cleaned cells, alignment, column widths and the wrapped header of a table."""

    def __init__(self, block: Table) -> None:
        self.block = block
        self.headers = [clean_text(h) for h in block.headers]
        self.body = [[clean_text(c) for c in row] for row in block.rows]
        ncol = len(self.headers)
        self.align = list(block.align) if block.align else [_guess_align(self.body, i) for i in range(ncol)]
        self.widths = _column_widths(self.headers, self.body, self.align, block.widths)
        self.xs = [MARGIN_X + sum(self.widths[:i]) for i in range(ncol)]
        self.inner = [w - 2 * CELL_PAD_X for w in self.widths]
        self.head_lines = [wrap_text(h, self.inner[i], "B", BODY_SIZE) for i, h in enumerate(self.headers)]
        self.head_h = max(len(ls) for ls in self.head_lines) * _line_h(BODY_SIZE) + 2 * CELL_PAD_Y + 0.4

    def first_row_h(self) -> float:
        """The first row's height, at most a few lines (a taller row may start and go on over the page)."""
        if not self.body:
            return _line_h(BODY_SIZE) + 2 * CELL_PAD_Y
        style = "B" if 0 in self.block.bold_rows else ""
        n = max(len(wrap_text(t, self.inner[i], style, BODY_SIZE)) for i, t in enumerate(self.body[0]))
        return min(n, 4) * _line_h(BODY_SIZE) + 2 * CELL_PAD_Y


_NUMERIC = re.compile(
    r"^[-+\u2212(]?[\d\s.,'\u00a0\u202f]*\d[\d\s.,'\u00a0\u202f]*\)?\s*(%|[A-Z]{3}|kr\.?)?$"
)


def _guess_align(rows: Sequence[Sequence[str]], i: int) -> str:
    values = [r[i].strip() for r in rows if r[i].strip() and r[i].strip() != "-"]
    return "R" if values and all(_NUMERIC.match(v) for v in values) else "L"


def _column_widths(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: Sequence[str],
    relative: Sequence[float] | None,
) -> list[float]:
    n = len(headers)
    if relative is not None and sum(max(w, 0) for w in relative) > 0:
        total = sum(max(w, 0) for w in relative)
        return [USABLE_W * max(w, 0) / total for w in relative]
    pad = 2 * CELL_PAD_X + 0.5
    natural = []
    for i in range(n):
        longest = max([text_width(r[i], "B", BODY_SIZE) for r in rows[:500]] or [0.0])
        words = max((text_width(word, "B", BODY_SIZE) for word in headers[i].split()), default=0.0)
        head = max(words, min(text_width(headers[i], "B", BODY_SIZE), 30.0))  # short headers on one line
        natural.append(min(max(longest, head, 8.0) + pad, USABLE_W * 0.6))
    if sum(natural) <= USABLE_W:
        # Spare room goes to the text columns, which wrap; numbers keep their natural width.
        text_cols = [i for i in range(n) if align[i] != "R"] or list(range(n))
        extra = USABLE_W - sum(natural)
        share = sum(natural[i] for i in text_cols)
        return [w + (extra * w / share if i in text_cols else 0.0) for i, w in enumerate(natural)]
    fixed = sum(natural[i] for i in range(n) if align[i] == "R")
    if fixed < USABLE_W * 0.6:
        flex = USABLE_W - fixed
        share = sum(natural[i] for i in range(n) if align[i] != "R")
        return [w if align[i] == "R" else flex * w / share for i, w in enumerate(natural)]
    return [USABLE_W * w / sum(natural) for w in natural]


def _marker(pdf: Any, cx: float, cy: float, level: str) -> None:
    """A small filled shape per notice level: a triangle for warnings, a dot for info, a diamond for ok."""
    colour = NOTICE_COLOURS.get(level, NOTICE_COLOURS["info"])
    pdf.set_fill_color(*colour)
    pdf.set_draw_color(*colour)
    pdf.set_line_width(0.1)
    r = 1.25
    if level == "warning":
        pdf.polygon(
            [(cx, cy - r * 1.05), (cx + r * 1.1, cy + r * 0.85), (cx - r * 1.1, cy + r * 0.85)], style="F"
        )
    elif level == "ok":
        pdf.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], style="F")
    else:
        pdf.circle(cx, cy, r * 0.9, style="F")


def _draw_diagram(pdf: Any, layout: DiagramLayout, x0: float, y0: float, s: float) -> None:
    def X(x: float) -> float:
        return x0 + x * s

    def Y(y: float) -> float:
        return y0 + y * s

    # Lines first, boxes over them, then arrowheads and labels on top.
    for pe in layout.edges:
        dashed = pe.edge.style == "dashed"
        pdf.set_draw_color(*EDGE_INK)
        pdf.set_line_width(0.3 * s)
        if dashed:
            pdf.set_dash_pattern(dash=1.2 * s, gap=0.9 * s)
        pts = [(X(x), Y(y)) for x, y in pe.points]
        # stop the line at the arrowhead's base so its tip stays sharp
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        length = math.hypot(bx - ax, by - ay) or 1.0
        ux, uy = (bx - ax) / length, (by - ay) / length
        pts[-1] = (bx - ux * ARROW_LEN * s * 0.8, by - uy * ARROW_LEN * s * 0.8)
        pdf.polyline(pts, style="D")
        pdf.set_dash_pattern()

    for b in layout.boxes:
        _draw_box(pdf, b, X(b.x), Y(b.y), s)

    for pe in layout.edges:
        (ax, ay), (bx, by) = (
            (X(pe.points[-2][0]), Y(pe.points[-2][1])),
            (X(pe.points[-1][0]), Y(pe.points[-1][1])),
        )
        length = math.hypot(bx - ax, by - ay) or 1.0
        ux, uy = (bx - ax) / length, (by - ay) / length
        bl, hw = ARROW_LEN * s, ARROW_HALF * s
        base = (bx - ux * bl, by - uy * bl)
        pdf.set_fill_color(*EDGE_INK)
        pdf.polygon(
            [(bx, by), (base[0] - uy * hw, base[1] + ux * hw), (base[0] + uy * hw, base[1] - ux * hw)],
            style="F",
        )
        if pe.label and pe.label_box:
            lx, ly, lw, lh = pe.label_box
            pdf.set_fill_color(255, 255, 255)
            pdf.rect(X(lx), Y(ly), lw * s, lh * s, style="F")
            size = EDGE_LABEL_SIZE * s
            _text(pdf, X(lx), Y(ly), lw * s, lh * s, pe.label, "", size, INK, "C")


def _draw_box(pdf: Any, b: PlacedBox, x: float, y: float, s: float) -> None:
    kind = b.node.kind
    w, h = b.w * s, b.h * s
    fill: tuple[int, int, int] = (255, 255, 255)
    border, width, ink, sub_ink = COMPANY_BORDER, 0.3, INK, MUTED
    radius = 1.2
    if kind == "focus":
        fill, border, width = FOCUS_FILL, FOCUS_BORDER, 0.7
    elif kind == "person":
        fill, border, radius = PERSON_FILL, PERSON_BORDER, 3.2
    elif kind == "missing":
        border, ink, sub_ink = MISSING_INK, MISSING_INK, MISSING_INK
    pdf.set_fill_color(*fill)
    pdf.set_draw_color(*border)
    pdf.set_line_width(width * s)
    if kind == "missing":
        pdf.set_dash_pattern(dash=1.0 * s, gap=0.8 * s)
    pdf.rect(x, y, w, h, style="DF", round_corners=True, corner_radius=min(radius * s, h / 2))
    pdf.set_dash_pattern()

    t_lh = _line_h(b.title_size) * 0.92 * s
    s_lh = _line_h(b.subtitle_size) * 0.92 * s if b.subtitle else 0.0
    content = len(b.title_lines) * t_lh + (0.5 * s + s_lh if b.subtitle else 0.0)
    ty = y + (h - content) / 2
    inner = w - 2 * BOX_PAD * s
    for line in b.title_lines:
        _text(pdf, x + BOX_PAD * s, ty, inner, t_lh, line, "B", b.title_size * s, ink, "C")
        ty += t_lh
    if b.subtitle:
        _text(
            pdf, x + BOX_PAD * s, ty + 0.5 * s, inner, s_lh, b.subtitle, "", b.subtitle_size * s, sub_ink, "C"
        )


# --------------------------------------------------------------------------------------------------
# Page numbers and entry points


def _page_label(template: str, page: int, pages: int) -> str:
    try:
        return template.format(page=page, pages=pages)
    except (
        KeyError,
        IndexError,
        ValueError,
        AttributeError,
    ):  # a malformed template must not fail the report
        return f"{page} / {pages}"


def _stamp_page_numbers(pdf: Any, doc: SectionDocument) -> None:
    total = len(pdf.pages)
    current = pdf.page
    width = USABLE_W * 0.3
    for page in range(1, total + 1):
        pdf.page = page
        pdf.current_font_is_set_on_page = False
        pdf.set_fill_color(255, 255, 254)  # force explicit colour operators on a page drawn earlier
        pdf.set_fill_color(255, 255, 255)
        text = clean_text(_page_label(doc.page_label, page, total), False)
        _text(
            pdf,
            PAGE_W - MARGIN_X - width,
            BOTTOM_Y + 2.8,
            width,
            4,
            _ellipsize(text, width, "", 7),
            "",
            7,
            MUTED,
            "R",
        )
    pdf.page = current
    pdf.current_font_is_set_on_page = False


def _build(document: SectionDocument) -> Any:
    w = _Writer(document)
    w.new_page()
    w.title_block()
    for section in document.sections:
        w.section(section)
    _stamp_page_numbers(w.pdf, document)
    return w.pdf


def write_section_pdf(document: SectionDocument, target: str | os.PathLike[str] | IO[bytes]) -> int:
    """Write the document as PDF to a path or binary file object; returns the page count."""
    pdf = _build(document)
    buffer = pdf.output()
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as fh:
            fh.write(buffer)
    else:
        target.write(buffer)
    return len(pdf.pages)


def render_section_pdf(document: SectionDocument) -> bytes:
    """The document as PDF bytes."""
    return bytes(_build(document).output())
