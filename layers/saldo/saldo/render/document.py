"""The neutral report document every renderer (Excel, HTML, PDF) reads.

A `Document` is metadata (`ReportMeta`), a list of `Column`s and rows. Rows are an *iterable* (or a
zero-argument callable returning one), so a general ledger with a million lines streams from the query
straight into the renderer without ever being held in memory.

Each `Row` has a kind (``detail``, ``group`` header, ``subtotal``, ``total``), a hierarchy level, an
optional label (the text shown for group/subtotal/total rows in the leading text columns), an optional
bookmark title (PDF outline and table of contents) and its cell values keyed by column key. Amounts are
`Decimal`; a float anywhere in an amount column is refused by the formatters.

`grouped_rows` turns flat account rows (the seeds' ``grouping.level_N_code/name`` shape) into group
headers, detail rows, subtotals per group and a grand total, streaming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from saldo.render.formats import Language, format_value, label, normalize_language

ColumnKind = Literal["text", "date", "amount", "integer", "percent"]
RowKind = Literal["detail", "group", "subtotal", "total"]
Orientation = Literal["auto", "portrait", "landscape"]

COLUMN_KINDS: tuple[str, ...] = ("text", "date", "amount", "integer", "percent")
ROW_KINDS: tuple[str, ...] = ("detail", "group", "subtotal", "total")
NUMERIC_KINDS = frozenset({"amount", "integer", "percent"})

# Width hints in characters of the body font when a column does not give one.
DEFAULT_WIDTHS: dict[str, float] = {"text": 24, "date": 10, "amount": 14, "integer": 8, "percent": 9}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Text:
    """A text in both languages; English falls back to Norwegian when missing."""

    nb: str
    en: str | None = None

    def get(self, lang: Language) -> str:
        return self.en if lang == "en" and self.en is not None else self.nb


def text_for(value: Text | str | None, lang: Language) -> str:
    """Resolve a `Text` or plain string for a language."""
    if value is None:
        return ""
    if isinstance(value, Text):
        return value.get(lang)
    return value


@dataclass(frozen=True, slots=True)
class Column:
    """A table column. `width` is a hint in characters; renderers scale the hints to the page."""

    key: str
    label: Text | str
    kind: ColumnKind = "text"
    width: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"Unknown column kind {self.kind!r}; use one of {', '.join(COLUMN_KINDS)}")
        if not self.key:
            raise ValueError("A column needs a key")

    def title(self, lang: Language) -> str:
        return text_for(self.label, lang)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def width_hint(self) -> float:
        return float(self.width) if self.width else DEFAULT_WIDTHS[self.kind]


@dataclass(slots=True)
class Row:
    """One table row.

    * ``detail``: an account or a posting line. `level` is its depth (under two group levels it is 3).
    * ``group``: a group header (level 1/2/3 of the account plan) showing `label`.
    * ``subtotal``: the sums of a group at `level`, with `label` (``Sum 19 Bankinnskudd``).
    * ``total``: a grand total (level 0).

    `cells` is a mapping by column key, or a sequence in column order.
    `bookmark` puts the row in the PDF outline/table of contents (group headers usually).
    """

    cells: Mapping[str, Any] | Sequence[Any] = ()
    kind: RowKind = "detail"
    level: int = 0
    label: str | None = None
    bookmark: str | None = None

    @classmethod
    def detail(cls, cells: Mapping[str, Any] | Sequence[Any], level: int = 0) -> Row:
        return cls(cells, "detail", level)

    @classmethod
    def group(cls, label: str, level: int = 1, bookmark: str | bool | None = True) -> Row:
        mark = label if bookmark is True else (bookmark or None)
        return cls((), "group", level, label, mark)

    @classmethod
    def subtotal(cls, label: str, cells: Mapping[str, Any] | Sequence[Any], level: int = 1) -> Row:
        return cls(cells, "subtotal", level, label)

    @classmethod
    def total(cls, label: str, cells: Mapping[str, Any] | Sequence[Any]) -> Row:
        return cls(cells, "total", 0, label)

    def values(self, keys: Sequence[str]) -> tuple[Any, ...]:
        """Cell values in column order."""
        cells = self.cells
        if isinstance(cells, Mapping):
            return tuple(cells.get(k) for k in keys)
        n = len(keys)
        vals = tuple(cells)
        if len(vals) >= n:
            return vals[:n]
        return vals + (None,) * (n - len(vals))


@dataclass(slots=True)
class ReportMeta:
    """What the report is, for whom and when. Shown in title blocks, page headers and file names."""

    kind: str
    title: Text | str
    company_name: str
    organization_number: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    report_date: date | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    language: Language = "nb"
    filters: Mapping[str, Any] = field(default_factory=dict)
    currency: str | None = "NOK"

    def __post_init__(self) -> None:
        self.language = normalize_language(self.language)

    def title_text(self) -> str:
        return text_for(self.title, self.language)

    def filter_items(self) -> list[tuple[str, str]]:
        """The request's filters as (label, value) pairs in the report language; empty ones skipped."""
        lang = self.language
        out: list[tuple[str, str]] = []
        for key, value in self.filters.items():
            if value is None or value == "" or value == [] or value == ():
                continue
            if isinstance(value, list | tuple | set | frozenset):
                shown = ", ".join(format_value(v, "text", lang) for v in value)
            else:
                shown = format_value(value, "text", lang)
            out.append((label(key, lang), shown))
        return out


@dataclass(slots=True)
class Document:
    """Metadata, columns and streaming rows.

    `rows` may be a list (renderable any number of times), a one-shot iterator/generator (renderable
    once) or a zero-argument callable returning a fresh iterable each time (renderable many times).
    `toc`: True/False forces the PDF table of contents on/off; None lets the PDF renderer decide
    (long reports with bookmarks get one). `orientation`: "auto" turns wide tables to landscape.
    """

    meta: ReportMeta
    columns: Sequence[Column]
    rows: Iterable[Row] | Callable[[], Iterable[Row]]
    toc: bool | None = None
    orientation: Orientation = "auto"
    _used: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.columns = tuple(self.columns)
        if not self.columns:
            raise ValueError("A document needs at least one column")
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Column keys must be unique: {keys}")
        if self.orientation not in ("auto", "portrait", "landscape"):
            raise ValueError(f"Unknown orientation {self.orientation!r}")

    @property
    def lang(self) -> Language:
        return self.meta.language

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def iter_rows(self) -> Iterator[Row]:
        """The rows, once per call for lists and factories; a one-shot iterator refuses a second pass."""
        source = self.rows
        if callable(source) and not isinstance(source, Iterable):
            return iter(source())
        it = iter(source)
        if it is source:
            if self._used:
                raise RuntimeError("The document's rows were an iterator and have already been rendered")
            self._used = True
        return it


# --------------------------------------------------------------------------------------------------
# Grouping flat account rows


@dataclass(frozen=True, slots=True)
class GroupKey:
    """One level of the account hierarchy: code and name (``19``, ``Bankinnskudd``)."""

    code: str
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}".strip() if self.code else self.name


def account_group_path(item: Mapping[str, Any], levels: Sequence[int] = (1, 2)) -> list[GroupKey]:
    """The group path of a seed-shaped row (``{"grouping": {"level_1_code": ..., ...}}``).

    Levels whose code and name are both empty are left out, so a shallow plan still groups correctly.
    """
    grouping = item.get("grouping") or {}
    path: list[GroupKey] = []
    for n in levels:
        code = grouping.get(f"level_{n}_code")
        name = grouping.get(f"level_{n}_name")
        if code in (None, "") and name in (None, ""):
            continue
        path.append(GroupKey(str(code or ""), str(name or "")))
    return path


def grouped_rows(
    items: Iterable[T],
    *,
    path: Callable[[T], Sequence[GroupKey | tuple[str, str]]],
    cells: Callable[[T], Mapping[str, Any]],
    sum_keys: Sequence[str],
    lang: Language = "nb",
    subtotals: bool = True,
    grand_total: bool | Text | str = True,
    bookmark_levels: int = 2,
    totals: dict[str, Decimal] | None = None,
) -> Iterator[Row]:
    """Group header, detail rows and subtotal per group, then a grand total; streaming.

    `items` must arrive ordered so each group is contiguous (ordered by account code, as the queries
    return them); a group that reappears after it was closed raises ValueError instead of producing
    wrong subtotals. `path(item)` gives the item's groups from level 1 down, `cells(item)` its cells.
    Subtotals sum the `sum_keys` columns (``None`` counts as zero). Group headers at levels up to
    `bookmark_levels` become PDF bookmarks. When `totals` is given it receives the grand totals, so
    callers can check that a report reconciles.
    """
    keys = tuple(sum_keys)
    zero = Decimal(0)
    stack: list[tuple[GroupKey, dict[str, Decimal]]] = []
    closed: set[tuple[GroupKey, ...]] = set()
    grand = dict.fromkeys(keys, zero)
    seen_any = False

    def close_to(depth: int) -> Iterator[Row]:
        while len(stack) > depth:
            key, sums = stack.pop()
            closed.add((*(k for k, _ in stack), key))
            if subtotals:
                yield Row(dict(sums), "subtotal", len(stack) + 1, label("sum_of", lang, name=key.label))

    for item in items:
        seen_any = True
        raw = path(item)
        p = tuple(k if isinstance(k, GroupKey) else GroupKey(str(k[0]), str(k[1])) for k in raw)
        common = 0
        while common < len(stack) and common < len(p) and stack[common][0] == p[common]:
            common += 1
        yield from close_to(common)
        for depth in range(common, len(p)):
            full = p[: depth + 1]
            if full in closed:
                raise ValueError(
                    f"Rows are not ordered by group: {p[depth].label!r} appears again after its subtotal"
                )
            level = depth + 1
            mark = p[depth].label if level <= bookmark_levels else None
            yield Row((), "group", level, p[depth].label, mark)
            stack.append((p[depth], dict.fromkeys(keys, zero)))
        values = cells(item)
        yield Row(values, "detail", len(p) + 1)
        for k in keys:
            v = values.get(k)
            if v is None:
                continue
            if isinstance(v, float):
                raise TypeError(f"Amount {k!r} is a float; use Decimal")
            grand[k] += v
            for _, sums in stack:
                sums[k] += v

    yield from close_to(0)
    if totals is not None:
        totals.update(grand)
    if grand_total and seen_any:
        text = label("grand_total", lang) if grand_total is True else text_for(grand_total, lang)
        yield Row(dict(grand), "total", 0, text)


# --------------------------------------------------------------------------------------------------
# Helpers shared by the renderers

# Sum of width hints (characters) above which a table is printed landscape.
PORTRAIT_MAX_CHARS = 118.0


def choose_orientation(document: Document) -> Literal["portrait", "landscape"]:
    """The document's orientation, or landscape when its columns are too wide for portrait A4."""
    if document.orientation != "auto":
        return document.orientation
    total = sum(c.width_hint for c in document.columns)
    return "landscape" if total > PORTRAIT_MAX_CHARS else "portrait"


def peek(rows: Iterator[Row], n: int) -> tuple[list[Row], Iterator[Row], bool]:
    """Read up to `n` rows ahead: (the rows read, an iterator over all rows, whether that was all)."""
    head: list[Row] = []
    for row in rows:
        head.append(row)
        if len(head) >= n:
            break
    else:
        return head, iter(head), True

    def chain() -> Iterator[Row]:
        yield from head
        yield from rows

    return head, chain(), False


def leading_text_span(columns: Sequence[Column]) -> int:
    """How many columns from the left are text/date columns a label may span (at least 1)."""
    n = 0
    for col in columns:
        if col.numeric:
            break
        n += 1
    return max(n, 1)
