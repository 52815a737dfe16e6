"""Account grouping after the structure of the Norwegian standard account plan.

Class = first digit, group = first two digits, and the level-3 code is the account's first three digits.
Codes in reports follow the seeds: level 1 "1000", level 2 "1100", level 3 "1110". The names are ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The control accounts of the accounts receivable and payable reports (seeds/003: receivable 1500,
# payable 2400).
CONTROL_ACCOUNTS: dict[str, list[str]] = {"receivable": ["1500"], "payable": ["2400"]}

CLASS_NAMES: dict[str, tuple[str, str]] = {
    "1": ("Eiendeler", "Assets"),
    "2": ("Egenkapital og gjeld", "Equity and liabilities"),
    "3": ("Salgsinntekter", "Sales revenue"),
    "4": ("Varekostnad", "Cost of goods sold"),
    "5": ("Lønnskostnader", "Payroll expenses"),
    "6": ("Andre driftskostnader", "Other operating expenses"),
    "7": ("Andre driftskostnader", "Other operating expenses"),
    "8": ("Finansposter og skatt", "Financial items and tax"),
    "9": ("Interne konti", "Internal accounts"),
}

GROUP_NAMES: dict[str, tuple[str, str]] = {
    "10": ("Immaterielle eiendeler", "Intangible assets"),
    "11": ("Bygninger og tomter", "Buildings and land"),
    "12": ("Maskiner, inventar og kjøretøy", "Machinery, fixtures and vehicles"),
    "13": ("Finansielle anleggsmidler", "Financial fixed assets"),
    "14": ("Lager", "Inventory"),
    "15": ("Kundefordringer", "Trade receivables"),
    "16": ("Merverdiavgift og offentlige krav", "VAT and public receivables"),
    "17": ("Forskuddsbetalte kostnader", "Prepaid expenses"),
    "18": ("Kortsiktige investeringer", "Short-term investments"),
    "19": ("Bank og kontanter", "Cash and bank"),
    "20": ("Egenkapital", "Equity"),
    "21": ("Avsetninger for forpliktelser", "Provisions"),
    "22": ("Langsiktig gjeld", "Long-term liabilities"),
    "23": ("Kortsiktige lån", "Short-term loans"),
    "24": ("Leverandørgjeld", "Trade payables"),
    "25": ("Betalbar skatt", "Tax payable"),
    "26": ("Skattetrekk og trekk", "Withholdings"),
    "27": ("Offentlige avgifter", "Public duties payable"),
    "28": ("Utbytte", "Dividends payable"),
    "29": ("Annen kortsiktig gjeld", "Other current liabilities"),
    "30": ("Salgsinntekt, avgiftspliktig", "Sales, taxable"),
    "31": ("Salgsinntekt, avgiftsfri", "Sales, exempt"),
    "32": ("Salgsinntekt utenfor avgiftsområdet", "Sales outside the VAT area"),
    "33": ("Offentlige avgifter på salg", "Public duties on sales"),
    "34": ("Offentlige tilskudd", "Public grants"),
    "35": ("Garantier", "Warranties"),
    "36": ("Leieinntekter", "Rental income"),
    "37": ("Provisjonsinntekter", "Commission income"),
    "38": ("Gevinst ved avgang av anleggsmidler", "Gain on disposal of fixed assets"),
    "39": ("Annen driftsinntekt", "Other operating income"),
    "40": ("Innkjøp av råvarer og halvfabrikata", "Raw materials"),
    "41": ("Varer under tilvirkning", "Work in progress"),
    "42": ("Ferdige varer", "Finished goods"),
    "43": ("Innkjøp av varer for videresalg", "Goods for resale"),
    "44": ("Innkjøp av varer for videresalg", "Goods for resale"),
    "45": ("Fremmedytelser og underentreprise", "Subcontracting"),
    "49": ("Annen periodisering", "Other accruals"),
    "50": ("Lønn", "Salaries"),
    "51": ("Lønn", "Salaries"),
    "52": ("Fordel i arbeidsforhold", "Benefits in kind"),
    "53": ("Annen oppgavepliktig godtgjørelse", "Other reportable remuneration"),
    "54": ("Arbeidsgiveravgift og pensjon", "Employer's contributions and pensions"),
    "55": ("Annen kostnadsgodtgjørelse", "Other expense allowances"),
    "57": ("Offentlig tilskudd vedrørende arbeidskraft", "Public grants for labour"),
    "58": ("Offentlig tilskudd vedrørende arbeidskraft", "Public grants for labour"),
    "59": ("Annen personalkostnad", "Other personnel expenses"),
    "60": ("Av- og nedskrivninger", "Depreciation and impairment"),
    "61": ("Frakt og transport", "Freight and transport"),
    "62": ("Energi og brensel", "Energy and fuel"),
    "63": ("Kostnader lokaler", "Premises"),
    "64": ("Leie av maskiner og inventar", "Rental of machinery and fixtures"),
    "65": ("Verktøy og inventar", "Tools and equipment"),
    "66": ("Reparasjon og vedlikehold", "Repairs and maintenance"),
    "67": ("Fremmede tjenester", "External services"),
    "68": ("Kontorkostnader", "Office expenses"),
    "69": ("Telefon og porto", "Telephone and postage"),
    "70": ("Transportmidler", "Vehicle expenses"),
    "71": ("Reise og diett", "Travel and subsistence"),
    "72": ("Provisjonskostnader", "Commission expenses"),
    "73": ("Salg, reklame og representasjon", "Sales, advertising and entertainment"),
    "74": ("Kontingenter og gaver", "Memberships and gifts"),
    "75": ("Forsikringer", "Insurance"),
    "76": ("Lisenser og patenter", "Licences and patents"),
    "77": ("Annen kostnad", "Other expenses"),
    "78": ("Tap og lignende", "Losses"),
    "79": ("Periodiseringskonti", "Accrual accounts"),
    "80": ("Finansinntekter", "Financial income"),
    "81": ("Finanskostnader", "Financial expenses"),
    "83": ("Skattekostnad", "Income tax expense"),
    "84": ("Ekstraordinære poster", "Extraordinary items"),
    "88": ("Årsresultat", "Result for the year"),
    "89": ("Overføringer og disponeringer", "Transfers and allocations"),
}


@dataclass(frozen=True)
class Grouping:
    level_1_code: str
    level_1_name: str
    level_2_code: str
    level_2_name: str
    level_3_code: str
    level_3_name: str

    def as_dict(self) -> dict[str, str]:
        return {
            "level_1_code": self.level_1_code,
            "level_1_name": self.level_1_name,
            "level_2_code": self.level_2_code,
            "level_2_name": self.level_2_name,
            "level_3_code": self.level_3_code,
            "level_3_name": self.level_3_name,
        }


def derive_grouping(code: str, chart_names: Mapping[str, str] | None = None, lang: str = "en") -> Grouping:
    """Grouping from the account code: "1920" → 1000 / 1900 / 1920 (level 3 is the 3-digit sub-group).

    The level-3 name is the name of the chart's account whose code is the sub-group code (1920 for
    1920-1929) when there is one, else the group's name.
    """
    idx = 0 if lang == "nb" else 1
    digits = _digits(code)
    cls, grp = digits[0], digits[:2]
    cls_name = CLASS_NAMES.get(cls, (f"Klasse {cls}", f"Class {cls}"))[idx]
    grp_name = GROUP_NAMES.get(grp, (f"Gruppe {grp}", f"Group {grp}"))[idx]
    return Grouping(
        level_1_code=f"{cls}000",
        level_1_name=cls_name,
        level_2_code=f"{grp}00",
        level_2_name=grp_name,
        level_3_code=f"{digits[:3]}0",
        level_3_name=(chart_names or {}).get(f"{digits[:3]}0", grp_name),
    )


def _digits(code: str) -> str:
    return (code + "000")[:4] if code[:4].isdigit() else code.ljust(4, "0")[:4]


def level_3_code(code: str) -> str:
    """The sub-group code of an account ("1925" → "1920"): the chart account that names its level 3."""
    return f"{_digits(code)[:3]}0"


def account_class(code: str) -> str:
    return code[:1]


def is_balance_sheet(code: str) -> bool:
    """Classes 1 and 2 are balance-sheet accounts; 3-8 (and 9) are result accounts."""
    return code[:1] in ("1", "2")
