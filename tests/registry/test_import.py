"""Bulk import of CVR (Vrvirksomhed) and Enhetsregisteret documents into the registry, all or nothing."""

from __future__ import annotations

from tests.security.id_providers import cvr


def period(start: str | None, end: str | None = None) -> dict:
    return {"gyldigFra": start, "gyldigTil": end}


def attr(kind: str, *values: tuple[str, str | None, str | None]) -> dict:
    return {"type": kind, "vaerdier": [{"vaerdi": v, "periode": period(f, t)} for v, f, t in values]}


def cvr_document(number: str, holding: str) -> dict:
    """A CVR company document as the Danish register publishes it (trimmed), with history."""
    return {
        "Vrvirksomhed": {
            "cvrNummer": int(number),
            "navne": [
                {"navn": "Gammel Drift ApS", "periode": period("2015-03-01", "2019-12-31")},
                {"navn": "Holm Drift ApS", "periode": period("2020-01-01")},
            ],
            "beliggenhedsadresse": [
                {
                    "vejnavn": "Havnegade",
                    "husnummerFra": 4,
                    "postnummer": 1058,
                    "postdistrikt": "København K",
                    "landekode": "DK",
                    "periode": period("2015-03-01"),
                }
            ],
            "virksomhedsform": [
                {
                    "kortBeskrivelse": "APS",
                    "langBeskrivelse": "Anpartsselskab",
                    "periode": period("2015-03-01"),
                }
            ],
            "virksomhedsstatus": [{"status": "NORMAL", "periode": period("2015-03-01")}],
            "hovedbranche": [
                {
                    "branchekode": "620100",
                    "branchetekst": "Computerprogrammering",
                    "periode": period("2015-03-01"),
                }
            ],
            "virksomhedMetadata": {"stiftelsesDato": "2015-03-01", "sammensatStatus": "Normal"},
            "attributter": [attr("FORMÅL", ("At drive IT-virksomhed", "2015-03-01", None))],
            "ukendtFelt": {"ignored": True},
            "deltagerRelation": [
                {
                    "deltager": {
                        "enhedstype": "VIRKSOMHED",
                        "forretningsnoegle": int(holding),
                        "navne": [{"navn": "Holm Holding ApS", "periode": period("2015-01-01")}],
                    },
                    "organisationer": [
                        {
                            "hovedtype": "REGISTER",
                            "organisationsNavn": [{"navn": "EJERREGISTER", "periode": period("2015-03-01")}],
                            "medlemsData": [
                                {
                                    "attributter": [
                                        attr(
                                            "EJERANDEL_PROCENT",
                                            ("0.5", "2015-03-01", "2019-12-31"),
                                            ("0.9", "2020-01-01", None),
                                        ),
                                        attr(
                                            "EJERANDEL_STEMMERET_PROCENT",
                                            ("0.5", "2015-03-01", "2019-12-31"),
                                            ("0.9", "2020-01-01", None),
                                        ),
                                    ]
                                }
                            ],
                        }
                    ],
                },
                {
                    "deltager": {
                        "enhedstype": "PERSON",
                        "enhedsNummer": 4000123456,
                        "navne": [{"navn": "Anna Holm", "periode": period("2000-01-01")}],
                    },
                    "organisationer": [
                        {
                            "hovedtype": "LEDELSESORGAN",
                            "organisationsNavn": [{"navn": "Direktion", "periode": period("2015-03-01")}],
                            "medlemsData": [
                                {"attributter": [attr("FUNKTION", ("ADM. DIR.", "2015-03-01", None))]}
                            ],
                        },
                        {
                            "hovedtype": "REGISTER",
                            "organisationsNavn": [{"navn": "Reelle ejere", "periode": period("2016-06-01")}],
                            "medlemsData": [
                                {"attributter": [attr("EJERANDEL_PROCENT", ("0.5", "2016-06-01", None))]}
                            ],
                        },
                    ],
                },
                {
                    "deltager": {
                        "enhedstype": "PERSON",
                        "enhedsNummer": 4000999999,
                        "navne": [{"navn": "Bo Berg", "periode": period("2000-01-01")}],
                    },
                    "organisationer": [
                        {
                            "hovedtype": "REGISTER",
                            "organisationsNavn": [{"navn": "EJERREGISTER"}],
                            "medlemsData": [
                                {
                                    "attributter": [
                                        attr("EJERANDEL_PROCENT", ("0.5", "2015-03-01", "2019-12-31"))
                                    ]
                                }
                            ],
                        },
                        {
                            "hovedtype": "LEDELSESORGAN",
                            "organisationsNavn": [{"navn": "Bestyrelse"}],
                            "medlemsData": [
                                {"attributter": [attr("FUNKTION", ("FORMAND", "2015-03-01", None))]}
                            ],
                        },
                    ],
                },
            ],
        }
    }


def enhet_document() -> dict:
    return {
        "organisasjonsnummer": "923609016",
        "navn": "FJORDLYS OPPLEVELSER AS",
        "organisasjonsform": {"kode": "AS", "beskrivelse": "Aksjeselskap"},
        "forretningsadresse": {
            "adresse": ["Strandkaien 2"],
            "postnummer": "5013",
            "poststed": "BERGEN",
            "landkode": "NO",
        },
        "stiftelsesdato": "2019-04-01",
        "naeringskode1": {"kode": "79.900", "beskrivelse": "Reisetjenester"},
        "antallAnsatte": 14,
        "konkurs": False,
        "vedtektsfestetFormaal": ["Turisme og opplevelser"],
        "rollegrupper": [
            {
                "type": {"kode": "DAGL"},
                "roller": [
                    {
                        "type": {"kode": "DAGL"},
                        "person": {
                            "fodselsdato": "1980-02-03",
                            "navn": {"fornavn": "Kari", "etternavn": "Nordmann"},
                        },
                        "fratraadt": False,
                    }
                ],
            },
            {
                "type": {"kode": "STYR"},
                "roller": [
                    {
                        "type": {"kode": "LEDE"},
                        "person": {
                            "fodselsdato": "1975-05-06",
                            "navn": {"fornavn": "Ola", "etternavn": "Ås"},
                        },
                    },
                    {
                        "type": {"kode": "MEDL"},
                        "person": {
                            "fodselsdato": "1990-01-01",
                            "navn": {"fornavn": "Per", "etternavn": "Berg"},
                        },
                        "fratraadt": True,
                    },
                ],
            },
            {
                "type": {"kode": "REVI"},
                "roller": [
                    {
                        "type": {"kode": "REVI"},
                        "enhet": {"organisasjonsnummer": "976389387", "navn": ["REVISJON AS"]},
                    }
                ],
            },
        ],
    }


def test_cvr_documents_bring_their_history(api):
    number, holding = cvr(), cvr()
    res = api.post("/api/v2/companies/import", json_body={"documents": [cvr_document(number, holding)]})
    assert res.status == 200, res.text
    assert res.json()["companies"] == [
        {"format": "cvr", "country": "DK", "registration_number": number, "created": True}
    ]
    old = api.get(f"/api/v2/companies/DK/{number}", params={"as_of": "2018-06-30"}).json()
    new = api.get(f"/api/v2/companies/DK/{number}", params={"as_of": "2024-06-30"}).json()
    assert old["name"] == "Gammel Drift ApS" and new["name"] == "Holm Drift ApS"
    assert new["legal_form"] == "APS" and new["status"] == "normal" and new["founded"] == "2015-03-01"
    assert new["address"] == {
        "street": "Havnegade 4",
        "postal_code": "1058",
        "city": "København K",
        "country": "DK",
    }
    assert new["purpose"] == "At drive IT-virksomhed"
    assert sorted((o["name"], o["capital"]["low"], o["capital"]["high"]) for o in old["owners"]) == [
        ("Bo Berg", "0.50", "0.6666"),
        ("Holm Holding ApS", "0.50", "0.6666"),
    ]
    assert [(o["name"], o["capital"]["low"], o["capital"]["high"]) for o in new["owners"]] == [
        ("Holm Holding ApS", "0.90", "1")
    ]
    assert {(r["role"], r["name"]) for r in new["roles"]} == {
        ("management", "Anna Holm"),
        ("chair", "Bo Berg"),
    }
    assert [(b["name"], b["registered_on"]) for b in new["registered_beneficial_owners"]] == [
        ("Anna Holm", "2016-06-01")
    ]
    # the holding is missing from the registry, so nobody is computed; Anna's registration is flagged
    ownership = api.get(f"/api/v2/companies/DK/{number}/ownership").json()
    assert ownership["missing_owners"] == [{"key": f"C#DK#{holding}", "name": "Holm Holding ApS"}]
    assert api.get("/api/v2/persons/dk-4000123456").json()["companies"][0]["registration_number"] == number


def test_enhetsregisteret_units_with_their_roles(api):
    res = api.post("/api/v2/companies/import", json_body={"documents": [enhet_document()]})
    assert res.status == 200, res.text
    unit = api.get("/api/v2/companies/NO/923609016").json()
    assert (
        unit["name"] == "FJORDLYS OPPLEVELSER AS" and unit["legal_form"] == "AS" and unit["employees"] == "14"
    )
    assert unit["industry_codes"] == [{"code": "79.900", "text": "Reisetjenester", "primary": True}]
    assert sorted((r["role"], r["name"]) for r in unit["roles"]) == [
        ("auditor", "REVISJON AS"),
        ("chair", "Ola Ås"),
        ("management", "Kari Nordmann"),
    ]
    assert any(r["party"] == {"person_id": "no-kari-nordmann-1980-02-03"} for r in unit["roles"])


def test_one_bad_document_imports_nothing(api):
    good, bad_number = cvr(), "12345678"
    broken = cvr_document(cvr(), cvr())
    broken["Vrvirksomhed"]["navne"][0]["periode"] = period("2020-01-01", "2019-01-01")
    res = api.post(
        "/api/v2/companies/import",
        json_body={
            "documents": [
                {"country": "DK", "registration_number": good, "name": "God ApS"},
                {"country": "DK", "registration_number": bad_number, "name": "Dårlig ApS"},
                broken,
                {"something": "else"},
                {"country": "DK", "registration_number": good, "name": "Twice ApS"},
            ]
        },
    )
    assert res.status == 422
    details = {d["field"]: d["message"] for d in res.json()["details"]}
    assert set(details) == {"documents[1]", "documents[2]", "documents[3]", "documents[4]"}
    assert "CVR" in details["documents[1]"] and "before it starts" in details["documents[2]"]
    assert "unknown document" in details["documents[3]"] and "twice" in details["documents[4]"]
    assert api.get("/api/v2/companies").json()["data"] == []


def test_importing_the_same_register_document_again_changes_nothing(api):
    number = cvr()
    doc = cvr_document(number, cvr())
    first = api.post("/api/v2/companies/import", json_body={"documents": [doc]}).json()
    again = api.post("/api/v2/companies/import", json_body={"documents": [doc]}).json()
    assert first["companies"][0]["created"] and not again["companies"][0]["created"]
    assert len(api.get(f"/api/v2/companies/DK/{number}/history").json()["data"]) > 0


def test_a_cvr_search_hit_imports_like_the_document_inside_it(api):
    number, holding = cvr(), cvr()
    hit = {"_index": "cvr-permanent", "_id": "1", "_score": 1.0, "_source": cvr_document(number, holding)}
    res = api.post("/api/v2/companies/import", json_body={"documents": [hit]})
    assert res.status == 200, res.text
    assert res.json()["companies"][0]["format"] == "cvr"
    new = api.get(f"/api/v2/companies/DK/{number}", params={"as_of": "2024-06-30"}).json()
    assert new["name"] == "Holm Drift ApS" and new["purpose"] == "At drive IT-virksomhed"


def test_enhetsregisteret_headcount_is_kept_as_its_number(api):
    unit = enhet_document()
    unit["antallAnsatte"] = 0
    assert api.post("/api/v2/companies/import", json_body={"documents": [unit]}).status == 200
    assert api.get("/api/v2/companies/NO/923609016").json()["employees"] == "0"
    for bad in ("fjorten", 12.5, True, -3):
        unit["antallAnsatte"] = bad
        res = api.post("/api/v2/companies/import", json_body={"documents": [unit]})
        assert res.status == 422, (bad, res.text)
        assert "antallAnsatte" in res.json()["message"]
