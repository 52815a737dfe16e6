"""Outgoing email: a subject built from a company's name stays one clean header line."""

from __future__ import annotations

from saldo.adapters.email import subject_line


def test_an_email_subject_is_one_clean_line():
    dirty = "SAF-T for Bell\r\nBcc: x@example.com\x00AS\x07"
    assert subject_line(dirty) == "SAF-T for Bell Bcc: x@example.com AS"
    assert len(subject_line("x" * 1000)) == 200
