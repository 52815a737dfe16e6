"""Text for XML written as strings (SAF-T transactions, Excel sheet rows): what XML 1.0 cannot hold, and
escaping exactly as libxml2 (lxml) writes character data, so hand-written output matches lxml's bytes."""

from __future__ import annotations

import re

# Control characters, lone surrogates and U+FFFE/U+FFFF: no XML 1.0 document can contain them.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MARKUP = re.compile("[&<>\r]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


def escape(s: str) -> str:
    """`s` as XML character data, escaped as libxml2 writes it (`&`, `<`, `>`, and CR as `&#13;`)."""
    if MARKUP.search(s) is None:
        return s
    return MARKUP.sub(lambda m: _ENTITIES[m.group()], s)
