"""Outgoing email through SES (the zipped SAF-T export's download link)."""

from __future__ import annotations

import re

from saldo.adapters.clients import client
from saldo.config import settings

# A subject is one header line: control characters (CR, LF, NUL ...) from a company's name would break it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
MAX_SUBJECT = 200


def subject_line(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())[:MAX_SUBJECT]


def send_email(to: str, subject: str, text: str, html: str) -> str:
    """Send a text and HTML message from the configured sender; returns the SES message id."""
    res = client("ses").send_email(
        Source=settings().sender_email,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject_line(subject), "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
        },
    )
    return str(res.get("MessageId", ""))
