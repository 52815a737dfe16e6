"""Mapping between SAF-T identifiers and Saldo's, both ways.

SAF-T identifies accounts, parties, tax codes and analysis values with free text (up to 35-70
characters); Saldo uses short codes (`[A-Za-z0-9._-]{1,20}`) for accounts and tax codes and positive
integers for business partners and dimensions. The rules:

- A SAF-T id that is already a valid Saldo code/id is used as is ("1920" stays account 1920, customer
  "1000" becomes business partner 1000, analysis "202" dimension 202), unless that Saldo id is taken by
  something else; then the next free one is used.
- Whatever did not map to itself is remembered in the client account's SAF-T extras (`MasterData.saft`),
  so a re-import finds the same Saldo records and an export writes the original SAF-T ids back.
- Analysis types become dimension types by their code and description (`A`/"Avdeling" → department,
  `P`/"Prosjekt" → project, assets, items, bank accounts); anything else is a `tag`. A Saldo dimension
  type is claimed by the first SAF-T analysis type that maps to it; a second one becomes a `tag`, so
  e.g. two different project-like analyses never mix. The original type codes are kept for the export.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from saldo.saft.codes import GROUPING_CATEGORIES_130, NAERINGSSPESIFIKASJON

#: The batch id of the lines an import writes starts with this (the export knows them by it).
SAFT_BATCH = "saft:"
CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
MAX_ID = 2**53  # ids stay exact in JSON clients

#: Saldo dimension type → SAF-T AnalysisType code and description for dimensions without a SAF-T origin.
DEFAULT_ANALYSIS_TYPES: dict[str, tuple[str, str]] = {
    "department": ("AVD", "Avdeling"),
    "project": ("PRO", "Prosjekt"),
    "asset": ("ANL", "Anleggsmiddel"),
    "item": ("VARE", "Vare"),
    "bankacc": ("BANK", "Bankkonto"),
    "tag": ("TAG", "Merke"),
    "businesspartner": ("PART", "Forretningspartner"),
}

_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "department",
        (
            "avdeling",
            "department",
            "dept",
            "kostnadssted",
            "kostnadsted",
            "koststed",
            "cost cent",
            "cost-cent",
            "costcent",
            "ansvarssted",
            "resultatenhet",
        ),
    ),
    ("project", ("prosjekt", "project")),
    ("asset", ("anleggsmiddel", "anlegg", "eiendel", "asset")),
    ("item", ("vare", "produkt", "product", "item", "artikkel", "article")),
    ("bankacc", ("bankkonto", "bank account", "bankacc", "bank")),
)
_CODES: dict[str, str] = {
    "A": "department", "AVD": "department", "DEP": "department", "DEPT": "department", "K": "department",
    "KST": "department", "KSTED": "department", "P": "project", "PRO": "project", "PROJ": "project",
    "PRS": "project", "ANL": "asset", "ASSET": "asset", "VARE": "item", "ITEM": "item", "PROD": "item",
    "BANK": "bankacc",
}  # fmt: skip


def guess_dimension_type(code: str, description: str) -> str:
    """The Saldo dimension type an analysis type most likely means (description first, then code)."""
    text = description.strip().lower()
    for dim_type, words in _KEYWORDS:
        if any(w in text for w in words):
            return dim_type
    if code.strip().upper() == "TAG":
        return "tag"
    return _CODES.get(code.strip().upper(), "tag")


def natural_id(value: str) -> int | None:
    """A SAF-T id that reads as a positive integer, as that integer."""
    text = value.strip()
    if not text.isdigit() or len(text) > 15:
        return None
    n = int(text)
    return n if 0 < n < MAX_ID else None


def saldo_code(original: str, taken: set[str]) -> str:
    """A Saldo code for a SAF-T id: itself when valid and free, else a sanitised, unique variant."""
    text = original.strip()
    if CODE_RE.match(text) and text not in taken:
        return text
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "X"
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
    for n in (8, 12, 16, 20):
        keep = 20 - n - 1
        candidate = f"{base[:keep]}_{digest[:n]}" if keep > 0 else digest[:20]
        if candidate not in taken:
            return candidate
    raise ValueError(f"cannot find a free code for {original!r}")  # pragma: no cover


def next_free(natural: int | None, used: set[int]) -> int:
    if natural is not None and natural not in used:
        return natural
    return (max(used) + 1) if used else 1


# ------------------------------------------------------------------ grouping (1.30)
_ALL_CODES: list[tuple[str, str]] = sorted(
    (code, category) for category, codes in NAERINGSSPESIFIKASJON.items() for code in codes
)


def is_130_category(category: str | None) -> bool:
    return bool(category) and category in GROUPING_CATEGORIES_130


def derive_grouping(account_code: str) -> tuple[str, str]:
    """A næringsspesifikasjon category and code for an account from its number (NS 4102 structure).

    The account's own number when it is in the list (1920 → balanseverdiForOmloepsmiddel/1920); else the
    nearest code at or below it in the same two-digit group; else the group's first code; else the nearest
    code below it in the same class. Accounts that cannot be placed (no leading digits, class 9) get
    "NA"/"NA", as Skatteetaten asks for codes that cannot be mapped.
    """
    digits = re.match(r"\d+", account_code or "")
    if not digits or len(digits.group()) < 4 or digits.group()[0] == "9" or digits.group()[0] == "0":
        return ("NA", "NA")
    number = digits.group()[:4]
    group, cls = number[:2], number[:1]
    in_group = [(c, cat) for c, cat in _ALL_CODES if c[:2] == group]
    at_or_below = [(c, cat) for c, cat in in_group if c <= number]
    if at_or_below:
        code, cat = at_or_below[-1]
        return cat, code
    if in_group:
        code, cat = in_group[0]
        return cat, code
    below = [(c, cat) for c, cat in _ALL_CODES if c[:1] == cls and c <= number]
    if below:
        code, cat = below[-1]
        return cat, code
    same_class = [(c, cat) for c, cat in _ALL_CODES if c[:1] == cls]
    if same_class:
        code, cat = same_class[0]
        return cat, code
    return ("NA", "NA")


# ------------------------------------------------------------------ extras document
def empty_extras() -> dict[str, Any]:
    return {
        "v": 1,
        "company": {},
        "accounts": {},
        "tax_codes": {},
        "analysis_types": {},
        "dimensions": {},
        "partners": {},
        "users": {},
        "imports": [],
    }


def extras_of(saft: dict[str, Any] | None) -> dict[str, Any]:
    """The SAF-T extras with every section present (older documents may lack some)."""
    out = empty_extras()
    for key, value in (saft or {}).items():
        out[key] = value
    return out


def reverse(mapping: dict[str, dict[str, Any]], field: str) -> dict[str, str]:
    """{original SAF-T id: Saldo key} from extras records that carry `field`."""
    return {str(rec[field]): key for key, rec in mapping.items() if rec.get(field) is not None}


def one_line_address(address: dict[str, Any] | None) -> str | None:
    if not address:
        return None
    street = " ".join(str(address[k]) for k in ("StreetName", "Number") if address.get(k))
    city = " ".join(str(address[k]) for k in ("PostalCode", "City") if address.get(k))
    text = ", ".join(p for p in (street, str(address.get("AdditionalAddressDetail") or ""), city) if p)
    return text[:512] or None


def first(items: Iterable[Any] | None) -> Any:
    for item in items or ():
        return item
    return None
