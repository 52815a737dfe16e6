"""Company documents in the shapes users already have, read into registry records.

- **CVR** (the Danish Business Authority's `Vrvirksomhed` documents): names, addresses, forms, statuses,
  industries and every participant relation with its periods, so the record carries the register's
  whole history. Legal owners come from the `EJERREGISTER` organisation, registered beneficial owners from
  `Reelle ejere`, management and board from `Direktion` / `Bestyrelse`, and so on. Shares are the
  register's stored lower bounds, read as the ranges they stand for (saldo/registry/ownership.py).
- **Enhetsregisteret** (Brønnøysundregistrene's unit JSON, with its `rollegrupper` if present): the unit
  and its roles as they stand now.
- **Saldo** JSON: `{"country", "registration_number", ...}` with the fields of `PUT /api/v2/companies/...`.

Unknown fields are ignored. A document that cannot be read raises `DocumentError` with the reason.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from saldo.ledger import regno
from saldo.ledger.models import MAX_DATE, MIN_DATE
from saldo.registry import record as rec
from saldo.registry.models import CompanyIn
from saldo.registry.ownership import Range


class DocumentError(ValueError):
    """A document that cannot be imported, with the reason in words a user can act on."""


def detect(document: Any) -> str:
    if not isinstance(document, dict):
        raise DocumentError("a document is a JSON object")
    if "Vrvirksomhed" in _cvr_hit(document) or "cvrNummer" in document:
        return "cvr"
    if "organisasjonsnummer" in document or "enhet" in document:
        return "enhetsregisteret"
    if "registration_number" in document:
        return "saldo"
    raise DocumentError(
        "unknown document: expected a CVR company (cvrNummer), an Enhetsregisteret unit "
        "(organisasjonsnummer) or Saldo's company JSON (country, registration_number)"
    )


def _cvr_hit(document: dict[str, Any]) -> dict[str, Any]:
    """CVR's Elasticsearch API answers with hits, `{"_source": {"Vrvirksomhed": ...}}`: the one inside."""
    source = document.get("_source")
    return source if isinstance(source, dict) and "Vrvirksomhed" in source else document


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _day(value: Any) -> str | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DocumentError(f"not a date: {str(value)[:40]!r}") from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise DocumentError(f"{day.isoformat()}: dates are between 1900-01-01 and 2199-12-31")
    return day.isoformat()


def _period(item: dict[str, Any]) -> tuple[str | None, str | None]:
    period = _dict(item.get("periode"))
    start, end = _day(period.get("gyldigFra")), _day(period.get("gyldigTil"))
    if start and end and end < start:
        raise DocumentError(f"a period ends ({end}) before it starts ({start})")
    return start, end


def _segments(items: Iterable[tuple[Any, str | None, str | None]]) -> rec.Timeline:
    """Timeline segments from (value, from, to), sorted, with overlaps cut at the next start."""
    segs = sorted(
        ({"value": v, "from": f, "to": t} for v, f, t in items if v not in (None, "", [])),
        key=lambda s: s["from"] or "",
    )
    for a, b in itertools.pairwise(segs):
        if b["from"] and (a["to"] is None or a["to"] >= b["from"]):
            a["to"] = (date.fromisoformat(b["from"]) - timedelta(days=1)).isoformat()
    return [s for s in segs if not (s["from"] and s["to"] and s["to"] < s["from"])]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae"))
    ascii_text = ascii_text.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:40] or "x"


def _fraction(value: Any) -> Decimal | None:
    try:
        fraction = Decimal(str(value).replace(",", "."))
    except (InvalidOperation, ValueError):
        raise DocumentError(f"not a share: {str(value)[:40]!r}") from None
    if fraction > 1:  # some exports write percentages
        fraction /= 100
    if not 0 <= fraction <= 1:
        raise DocumentError(f"not a share: {value!r}")
    return fraction


def _range_json(value: Any) -> dict[str, str] | None:
    fraction = _fraction(value)
    if fraction is None:
        return None
    share = Range.from_cvr(fraction)
    return {"low": str(share.low), "high": str(share.high)}


# ---------------------------------------------------------------------------------------------- CVR
CVR_ROLES = {
    "DIREKTION": "management",
    "BESTYRELSE": "board",
    "REVISION": "auditor",
    "STIFTERE": "founder",
    "FULDT ANSVARLIGE DELTAGERE": "fully_liable_partner",
    "FULDT_ANSVARLIG_DELTAGERE": "fully_liable_partner",
}


def _cvr_name(deltager: dict[str, Any]) -> str:
    names = sorted(_list(deltager.get("navne")), key=lambda n: _period(n)[0] or "")
    if names:
        return str(names[-1].get("navn") or "")[:500]
    return str(deltager.get("navn") or "")[:500]


def _attribute(member_data: list[Any], kind: str) -> list[tuple[Any, str | None, str | None]]:
    out = []
    for member in member_data:
        for attr in _list(_dict(member).get("attributter")):
            if _dict(attr).get("type") == kind:
                out += [
                    (v.get("vaerdi"), *_period(v)) for v in _list(attr.get("vaerdier")) if isinstance(v, dict)
                ]
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: Any, where: str) -> None:
    """A register's texts reach PDFs, emails and terminals: a control character refuses the document."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise DocumentError(f"{where or 'a text'}: contains a control character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_control_characters(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for item in value:
            _no_control_characters(item, where)


def read_cvr(document: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    document = _cvr_hit(document)
    doc = _dict(document.get("Vrvirksomhed")) or document
    number = str(doc.get("cvrNummer") or "")
    try:
        number = regno.validate(number, "DK")
    except ValueError as exc:
        raise DocumentError(f"cvrNummer: {exc}") from None
    record = rec.new_record("DK", number)
    facts = record["facts"]
    facts["name"] = _segments(
        (n.get("navn"), *_period(n)) for n in _list(doc.get("navne")) if isinstance(n, dict)
    )
    if not facts["name"]:
        name = _dict(doc.get("virksomhedMetadata")).get("nyesteNavn")
        name = _dict(name).get("navn") if isinstance(name, dict) else name
        if not name:
            raise DocumentError("the company has no name (navne)")
        facts["name"] = _segments([(str(name), None, None)])
    facts["address"] = _segments(
        (_cvr_address(a), *_period(a)) for a in _list(doc.get("beliggenhedsadresse")) if isinstance(a, dict)
    )
    facts["legal_form"] = _segments(
        (f.get("kortBeskrivelse") or f.get("langBeskrivelse"), *_period(f))
        for f in _list(doc.get("virksomhedsform"))
        if isinstance(f, dict)
    )
    facts["status"] = _segments(
        (str(s.get("status")).lower(), *_period(s))
        for s in _list(doc.get("virksomhedsstatus"))
        if isinstance(s, dict)
    )
    founded = _day(_dict(doc.get("virksomhedMetadata")).get("stiftelsesDato") or doc.get("stiftelsesDato"))
    facts["founded"] = _segments([(founded, None, None)])
    facts["industry_codes"] = _segments(
        ([{"code": str(b.get("branchekode")), "text": b.get("branchetekst"), "primary": True}], *_period(b))
        for b in _list(doc.get("hovedbranche"))
        if isinstance(b, dict) and b.get("branchekode")
    )
    facts["purpose"] = _segments(_attribute([doc], "FORMÅL"))
    facts["balance_day"] = _segments(
        (str(v).lstrip("-")[-5:], f, t) for v, f, t in _attribute([doc], "REGNSKABSÅR_SLUT") if v
    )
    employees = _list(doc.get("aarsbeskaeftigelse"))
    if employees:
        latest = max(employees, key=lambda e: _dict(e).get("aar") or 0)
        interval = _dict(latest).get("intervalKodeAntalAnsatte")
        facts["employees"] = _segments([(interval, None, None)])
    for relation in _list(doc.get("deltagerRelation")):
        _cvr_relation(record, _dict(relation))
    _no_control_characters(record, "")
    return "DK", number, record


def _cvr_address(a: dict[str, Any]) -> dict[str, Any]:
    street = " ".join(str(x) for x in (a.get("vejnavn"), a.get("husnummerFra"), a.get("bogstavFra")) if x)
    out = {
        "street": street or None,
        "postal_code": str(a.get("postnummer")) if a.get("postnummer") else None,
        "city": a.get("postdistrikt"),
        "country": a.get("landekode") or "DK",
    }
    return {k: v for k, v in out.items() if v}


def _cvr_relation(record: dict[str, Any], relation: dict[str, Any]) -> None:
    deltager = _dict(relation.get("deltager"))
    name = _cvr_name(deltager) or "(unknown)"
    if deltager.get("enhedstype") == "VIRKSOMHED" and deltager.get("forretningsnoegle"):
        try:
            party: dict[str, Any] = {
                "country": "DK",
                "registration_number": regno.validate(str(deltager["forretningsnoegle"]), "DK"),
            }
        except ValueError as exc:
            raise DocumentError(f"deltager {name}: {exc}") from None
        person_id = None
    else:
        number = deltager.get("enhedsNummer")
        person_id = f"dk-{number}" if number else f"dk-{_slug(name)}"
        party = {"person_id": person_id}
    key = "P#" + person_id if person_id else f"C#DK#{party['registration_number']}"
    for organisation in _list(relation.get("organisationer")):
        organisation = _dict(organisation)
        names = {
            str(_dict(n).get("navn") or "").upper() for n in _list(organisation.get("organisationsNavn"))
        }
        main = str(organisation.get("hovedtype") or "").upper()
        members = _list(organisation.get("medlemsData"))
        if "EJERREGISTER" in names:
            capital = _attribute(members, "EJERANDEL_PROCENT")
            votes = dict(((f, t), v) for v, f, t in _attribute(members, "EJERANDEL_STEMMERET_PROCENT"))
            record["owners"][key] = _segments(
                (
                    {
                        "party": party,
                        "name": name,
                        "capital": _range_json(v),
                        "votes": _range_json(votes.get((f, t), v)),
                    },
                    f,
                    t,
                )
                for v, f, t in capital
            )
        elif "REELLE EJERE" in names or "REEL EJER" in names:
            if person_id is None:
                continue  # only natural persons are beneficial owners
            capital = _attribute(members, "EJERANDEL_PROCENT")
            periods = capital or _attribute(members, "FUNKTION") or [(None, None, None)]
            record["beneficial_owners"][person_id] = _segments(
                (
                    {
                        "person_id": person_id,
                        "name": name,
                        **({"capital": _range_json(v)} if v is not None else {}),
                        **({"registered_on": f} if f else {}),
                    },
                    f,
                    t,
                )
                for v, f, t in periods
            )
        else:
            role = next((CVR_ROLES[n] for n in names | {main} if n in CVR_ROLES), None)
            if role is None:
                continue
            functions = _attribute(members, "FUNKTION") or [(None, *_period(organisation))]
            segments = []
            for value, f, t in functions:
                this_role = "chair" if role == "board" and str(value or "").upper() == "FORMAND" else role
                # The register writes functions in capitals (ADM. DIR.); other casings are kept as written.
                text = str(value) if value else ""
                title = (text.capitalize() if text.isupper() else text) or None
                segments.append(
                    (this_role, {"party": party, "name": name, **({"title": title} if title else {})}, f, t)
                )
            for this_role in {s[0] for s in segments}:
                record["roles"][f"{this_role}|{key}"] = _segments(
                    ({"role": this_role, **v}, f, t) for r, v, f, t in segments if r == this_role
                )


# ---------------------------------------------------------------------------------------------- Norway
NO_ROLES = {
    "DAGL": "management",
    "LEDE": "chair",
    "NEST": "board",
    "MEDL": "board",
    "VARA": None,
    "REVI": "auditor",
    "DTPR": "fully_liable_partner",
    "DTSO": "fully_liable_partner",
    "KOMP": "fully_liable_partner",
}


def read_enhetsregisteret(document: dict[str, Any], day: date) -> tuple[str, str, CompanyIn]:
    unit = _dict(document.get("enhet")) or document
    number = str(unit.get("organisasjonsnummer") or "")
    try:
        number = regno.validate(number, "NO")
    except ValueError as exc:
        raise DocumentError(f"organisasjonsnummer: {exc}") from None
    address = _dict(unit.get("forretningsadresse")) or _dict(unit.get("postadresse"))
    status = "normal"
    if unit.get("konkurs"):
        status = "bankrupt"
    elif unit.get("underTvangsavviklingEllerTvangsopplosning"):
        status = "compulsory dissolution"
    elif unit.get("underAvvikling"):
        status = "in liquidation"
    industry = [
        {
            "code": str(_dict(unit.get(k)).get("kode")),
            "text": _dict(unit.get(k)).get("beskrivelse"),
            "primary": i == 0,
        }
        for i, k in enumerate(("naeringskode1", "naeringskode2", "naeringskode3"))
        if _dict(unit.get(k)).get("kode")
    ]
    roles = []
    groups = _list(_dict(document.get("roller")).get("rollegrupper")) or _list(document.get("rollegrupper"))
    for group in groups:
        for role in _list(_dict(group).get("roller")):
            role = _dict(role)
            code = str(_dict(role.get("type")).get("kode") or _dict(_dict(group).get("type")).get("kode"))
            name_map = NO_ROLES.get(code)
            if name_map is None or role.get("fratraadt"):
                continue
            person, entity = _dict(role.get("person")), _dict(role.get("enhet"))
            if entity.get("organisasjonsnummer"):
                entity_name = " ".join(_list(entity.get("navn"))) or str(entity.get("navn") or "")
                party = {"country": "NO", "registration_number": str(entity["organisasjonsnummer"])}
                roles.append({"role": name_map, "party": party, "name": entity_name or "(unknown)"})
            elif person:
                n = _dict(person.get("navn"))
                full = " ".join(str(n[k]) for k in ("fornavn", "mellomnavn", "etternavn") if n.get(k))
                born = str(person.get("fodselsdato") or "")
                person_id = f"no-{_slug(full)}-{born}" if born else f"no-{_slug(full)}"
                roles.append(
                    {"role": name_map, "party": {"person_id": person_id[:64]}, "name": full or "(unknown)"}
                )
    seen: set[tuple[str, str]] = set()
    unique_roles = []
    for r in roles:
        ident = (r["role"], str(r["party"]))
        if ident not in seen:
            seen.add(ident)
            unique_roles.append(r)
    body = {
        "effective_date": day.isoformat(),
        "name": unit.get("navn"),
        "legal_form": _dict(unit.get("organisasjonsform")).get("kode"),
        "status": status,
        "founded": _day(unit.get("stiftelsesdato")),
        "address": {
            "street": ", ".join(str(x) for x in _list(address.get("adresse"))) or None,
            "postal_code": address.get("postnummer"),
            "city": address.get("poststed"),
            "country": address.get("landkode"),
        }
        if address
        else None,
        "industry_codes": industry,
        "purpose": " ".join(str(x) for x in _list(unit.get("vedtektsfestetFormaal"))) or None,
        "employees": _headcount(unit.get("antallAnsatte")),
        "roles": unique_roles,
    }
    return "NO", number, company_in({k: v for k, v in body.items() if v is not None})


def _headcount(value: Any) -> str | None:
    """Enhetsregisteret's antallAnsatte, a whole number, as the registry's `employees` text ("14").

    `employees` is text because CVR gives an interval code (`ANTAL_10_19`); a number is kept exactly.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise DocumentError(f"antallAnsatte: not a whole number of employees: {str(value)[:40]!r}")
    return str(int(value))


def company_in(body: dict[str, Any]) -> CompanyIn:
    """Saldo's company JSON, validated; the first problem names its field."""
    try:
        return CompanyIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise DocumentError(f"{where}: {first['msg']}") from None


def read_saldo(document: dict[str, Any]) -> tuple[str, str, CompanyIn]:
    body = dict(document)
    country = str(body.pop("country", "") or "")
    number = str(body.pop("registration_number", "") or "")
    if country not in ("DK", "NO", "SE", "FI", "IS"):
        raise DocumentError("country: one of DK, NO, SE, FI, IS")
    try:
        number = regno.validate(number, country)
    except ValueError as exc:
        raise DocumentError(f"registration_number: {exc}") from None
    return country, number, company_in(body)
