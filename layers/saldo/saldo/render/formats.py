"""Norwegian and English formatting of amounts, dates and labels, and `Accept-Language` parsing.

Conventions (one per language, used by every renderer):

=========  =====================  =====================
           nb (default)           en
=========  =====================  =====================
amount     ``1 234 567,89``       ``1,234,567.89``
negative   ``-1 234,50``          ``-1,234.50``
integer    ``12 345``             ``12,345``
percent    ``25,00 %``            ``25.00%``
date       ``31.12.2025``         ``2025-12-31`` (ISO 8601)
timestamp  ``31.12.2025 14:03``   ``2025-12-31 14:03``
=========  =====================  =====================

* The Norwegian thousands separator is U+202F NARROW NO-BREAK SPACE (``GROUP_NB``): the thin space
  Norwegian typography uses for digit groups, and it never lets a number wrap across lines.
* The minus sign is ASCII ``-`` in both languages, so figures copied out of a PDF or HTML page still
  parse as numbers in a spreadsheet.
* English dates are ISO 8601: unambiguous for readers on both sides of the Atlantic (``01/02/2025``
  is not), and sortable.
* Amounts are rounded half-up to two decimals (the accounting convention), never through float.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from saldo.render.negotiation import weighted_values

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = ("nb", "en")
DEFAULT_LANGUAGE: Language = "nb"

GROUP_NB = "\u202f"  # narrow no-break space
PERCENT_SPACE_NB = "\u00a0"  # no-break space before % in Norwegian
CENT = Decimal("0.01")
_ONE = Decimal(1)
_QUANTS = {n: Decimal(1).scaleb(-n) for n in range(0, 7)}

# Tables for str.translate: Python's "," grouping and "." decimal point -> Norwegian.
_NB_TABLE = str.maketrans({",": GROUP_NB, ".": ","})

DISPLAY_TIMEZONE = "Europe/Oslo"


def normalize_language(value: str | None) -> Language:
    """Map a language tag to a supported language: ``en*`` -> en, everything else -> nb."""
    if value and value.strip().lower().split("-")[0].split("_")[0] == "en":
        return "en"
    return "nb"


# --------------------------------------------------------------------------------------------------
# Numbers


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("A boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError("Amounts must be Decimal (or int/str), never float")
    raise TypeError(f"Cannot format {type(value).__name__} as a number")


def quantize(value: Any, decimals: int = 2) -> Decimal:
    """Round half-up to `decimals` places; -0 becomes 0."""
    q = _to_decimal(value).quantize(_QUANTS[decimals], rounding=ROUND_HALF_UP)
    if q.is_zero() and q.is_signed():
        q = q.copy_abs()
    return q


def format_number(value: Any, lang: Language = "nb", decimals: int = 2, grouping: bool = True) -> str:
    """Format a Decimal/int with grouping and a fixed number of decimals; ``None`` gives ``""``."""
    if value is None:
        return ""
    q = quantize(value, decimals)
    text = format(q, ",f" if grouping else "f")
    if lang == "en":
        return text
    return text.translate(_NB_TABLE)


def format_amount(value: Any, lang: Language = "nb") -> str:
    """``Decimal("-1234567.891")`` -> ``-1 234 567,89`` (nb) / ``-1,234,567.89`` (en)."""
    return format_number(value, lang, 2)


def format_integer(value: Any, lang: Language = "nb") -> str:
    """Whole numbers with digit grouping: ``12 345`` (nb) / ``12,345`` (en)."""
    return format_number(value, lang, 0)


def format_percent(value: Any, lang: Language = "nb", decimals: int = 2) -> str:
    """Percent values are given in percent units: ``25`` -> ``25,00 %`` (nb) / ``25.00%`` (en)."""
    if value is None:
        return ""
    text = format_number(value, lang, decimals)
    return f"{text}{PERCENT_SPACE_NB}%" if lang == "nb" else f"{text}%"


# --------------------------------------------------------------------------------------------------
# Dates


def format_date(value: date | datetime | str | None, lang: Language = "nb") -> str:
    """``31.12.2025`` (nb) / ``2025-12-31`` (en). ISO strings are accepted."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    if lang == "en":
        return value.isoformat()
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def _display_tz() -> Any:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(DISPLAY_TIMEZONE)
    except Exception:  # no tz database in the runtime: show UTC rather than fail
        return UTC


def to_display_time(value: datetime) -> datetime:
    """Aware timestamps are shown in Norwegian time; naive ones are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_display_tz())


def format_datetime(value: datetime | None, lang: Language = "nb") -> str:
    """``31.12.2025 14:03`` (nb) / ``2025-12-31 14:03`` (en), in Norwegian time (Europe/Oslo)."""
    if value is None:
        return ""
    local = to_display_time(value)
    return f"{format_date(local.date(), lang)} {local.hour:02d}:{local.minute:02d}"


def format_period(
    date_from: date | None, date_to: date | None, report_date: date | None = None, lang: Language = "nb"
) -> str:
    """``01.01.2025–31.12.2025``; a single report date is shown alone; open ends are kept visible."""
    if report_date is not None and date_from is None and date_to is None:
        return format_date(report_date, lang)
    if date_from is None and date_to is None:
        return ""
    if date_from is None:
        return f"{label('until', lang)} {format_date(date_to, lang)}"
    if date_to is None:
        return f"{label('from', lang)} {format_date(date_from, lang)}"
    return f"{format_date(date_from, lang)}\u2013{format_date(date_to, lang)}"


def format_org_number(value: str | None) -> str:
    """Norwegian organization numbers in the register's style: ``999 999 999``; others unchanged."""
    if not value:
        return ""
    digits = "".join(ch for ch in value if not ch.isspace())
    if len(digits) == 9 and digits.isdigit():
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return value.strip()


def format_value(value: Any, kind: str, lang: Language = "nb") -> str:
    """Format one cell by column kind (text, date, amount, integer, percent)."""
    if value is None:
        return ""
    if kind == "amount":
        return format_amount(value, lang)
    if kind == "date":
        return format_date(value, lang)
    if kind == "integer":
        return format_integer(value, lang)
    if kind == "percent":
        return format_percent(value, lang)
    if isinstance(value, bool):
        return label("yes" if value else "no", lang)
    if isinstance(value, datetime):
        return format_datetime(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, Decimal):
        return format_amount(value, lang)
    return str(value)


# --------------------------------------------------------------------------------------------------
# Labels

LABELS: dict[str, tuple[str, str]] = {
    # key: (nb, en)
    "page_x_of_y": ("Side {page} av {pages}", "Page {page} of {pages}"),
    "page": ("Side", "Page"),
    "generated": ("Generert", "Generated"),
    "period": ("Periode", "Period"),
    "report_date": ("Rapportdato", "Report date"),
    "date": ("Dato", "Date"),
    "from": ("fra", "from"),
    "until": ("til", "until"),
    "company": ("Selskap", "Company"),
    "organization_number": ("Org.nr.", "Org. no."),
    "filters": ("Utvalg", "Filters"),
    "amounts_in": ("Beløp i {currency}", "Amounts in {currency}"),
    "total": ("Sum", "Total"),
    "grand_total": ("Sum totalt", "Grand total"),
    "sum_of": ("Sum {name}", "Total {name}"),
    "contents": ("Innhold", "Contents"),
    "continued": ("forts.", "cont."),
    "account": ("Konto", "Account"),
    "account_name": ("Kontonavn", "Account name"),
    "description": ("Beskrivelse", "Description"),
    "amount": ("Beløp", "Amount"),
    "balance": ("Saldo", "Balance"),
    "opening_balance": ("Inngående saldo", "Opening balance"),
    "closing_balance": ("Utgående saldo", "Closing balance"),
    "incoming_balance": ("Inngående saldo", "Opening balance"),
    "outgoing_balance": ("Utgående saldo", "Closing balance"),
    "debit": ("Debet", "Debit"),
    "credit": ("Kredit", "Credit"),
    "movement": ("Bevegelse", "Movement"),
    "voucher": ("Bilag", "Voucher"),
    "vat_code": ("Mva-kode", "VAT code"),
    "tax_code": ("Mva-kode", "Tax code"),
    "currency": ("Valuta", "Currency"),
    "dimensions": ("Dimensjoner", "Dimensions"),
    "include_drafts": ("Inkluder kladd", "Include drafts"),
    "include_reconciled": ("Inkluder avstemte", "Include reconciled"),
    "include_cancelled": ("Inkluder kansellerte", "Include cancelled"),
    "include_zero_movement": ("Inkluder kontoer uten bevegelse", "Include accounts without movement"),
    "include_dimensions": ("Inkluder dimensjoner", "Include dimensions"),
    "account_codes": ("Kontoer", "Accounts"),
    "tax_codes": ("Mva-koder", "Tax codes"),
    "free_text": ("Fritekst", "Free text"),
    "group_by_dimension": ("Gruppert på", "Grouped by"),
    "business_partner_id": ("Forretningspartner", "Business partner"),
    "yes": ("Ja", "Yes"),
    "no": ("Nei", "No"),
    "no_rows": ("Ingen rader i utvalget.", "No rows match the selection."),
    "balance_sheet": ("Balanse", "Balance sheet"),
    "income_statement": ("Resultatregnskap", "Income statement"),
    "trial_balance": ("Saldobalanse", "Trial balance"),
    "general_ledger": ("Hovedbok", "General ledger"),
    "accounts_payable": ("Leverandørreskontro", "Accounts payable"),
    "accounts_receivable": ("Kundereskontro", "Accounts receivable"),
    "vat": ("Mva-rapport", "VAT report"),
}

MONTHS: dict[Language, tuple[str, ...]] = {
    "nb": ("Jan", "Feb", "Mar", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def label(key: str, lang: Language = "nb", **fields: Any) -> str:
    """The nb/en text for `key` (unknown keys come back unchanged), with ``{fields}`` filled in."""
    pair = LABELS.get(key)
    text = key if pair is None else pair[1 if lang == "en" else 0]
    return text.format(**fields) if fields else text


def month_name(month: int, lang: Language = "nb") -> str:
    """Short month name, 1 = January."""
    return MONTHS[lang][month - 1]


# --------------------------------------------------------------------------------------------------
# Accept-Language


def parse_accept_language(header: str | None) -> Language:
    """Pick nb or en from an ``Accept-Language`` header.

    ``nb``, ``nn`` and ``no`` (any region) mean Norwegian, ``en-*`` English. The highest-q supported
    tag wins; ties go to the one listed first. Unsupported tags are skipped, ``*`` and an absent or
    unusable header give Norwegian (the default).
    """
    if not header:
        return DEFAULT_LANGUAGE
    best: tuple[float, int, Language] | None = None
    for tag, q, index in weighted_values(header):
        if q <= 0:
            continue
        primary = tag.replace("_", "-").split("-")[0]
        lang: Language
        if primary in ("nb", "nn", "no"):
            lang = "nb"
        elif primary == "en":
            lang = "en"
        elif primary == "*":
            lang = DEFAULT_LANGUAGE
        else:
            continue
        if best is None or q > best[0] or (q == best[0] and index < best[1]):
            best = (q, index, lang)
    return best[2] if best else DEFAULT_LANGUAGE
