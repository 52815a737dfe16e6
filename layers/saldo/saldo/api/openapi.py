"""The OpenAPI 3.1 document, generated from the routers' signatures, and a self-contained docs page."""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from saldo import __version__

TITLE = "Saldo API"
DESCRIPTION = (
    "Financial reports, SAF-T Financial, template reports and batch reports for Nordic accounting data. "
    "Authenticate with `Authorization: Bearer <api key>` (the batch API also accepts `lasso-api-key`)."
)


@cache
def openapi_document() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from saldo.api.app import create_app
    from saldo.api.registry import all_routers

    app = create_app(*all_routers())
    schema = app.get_openapi_json_schema(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        security_schemes={"bearer": HTTPBearer(description="API key issued by `saldo admin create-key`")},
        security=[{"bearer": []}],
    )
    doc: dict[str, Any] = json.loads(schema)
    for path in ("/health", "/openapi.json", "/docs"):
        for op in doc.get("paths", {}).get(path, {}).values():
            op["security"] = []
    for ops in doc.get("paths", {}).values():
        for op in ops.values():
            _tidy_operation(op)
    _drop_unused_schemas(doc)
    return doc


#: What Powertools adds to every operation that our routes do not answer: FastAPI's validation error
#: body (ours is the `{status, error, message}` of saldo.api.schemas.ErrorBody, declared per route) and
#: a 500 for a response that fails its model (our routes' responses are not validated by Powertools).
_POWERTOOLS_DEFAULTS = (
    "#/components/schemas/HTTPValidationError",
    "#/components/schemas/ResponseValidationError",
)


def _tidy_operation(op: dict[str, Any]) -> None:
    for code, response in list(op.get("responses", {}).items()):
        ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        if ref in _POWERTOOLS_DEFAULTS:
            del op["responses"][code]
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        if schema.pop("x-saldo-required", False):
            # Required in the contract; the handler still answers its absence as the seeds say.
            param["required"] = True
            branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
            if len(branches) == 1:
                schema.update(branches[0])
            elif branches:
                schema["anyOf"] = branches
            if schema.get("default") is None:
                schema.pop("default", None)


def _drop_unused_schemas(doc: dict[str, Any]) -> None:
    schemas = doc.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps({k: v for k, v in doc.items() if k != "components"}) + json.dumps(schemas)
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=1)


def _param_rows(params: list[dict[str, Any]]) -> str:
    rows = []
    for p in params:
        schema = p.get("schema", {})
        kind = schema.get("type") or " | ".join(
            s.get("type", "") for s in schema.get("anyOf", []) if s.get("type")
        )
        default = schema.get("default")
        rows.append(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                html.escape(p["name"]),
                html.escape(p.get("in", "")),
                html.escape(str(kind)),
                "yes" if p.get("required") else "",
                html.escape("" if default is None else json.dumps(default)),
            )
            + (
                f"<tr class=d><td colspan=5>{html.escape(p['description'])}</td></tr>"
                if p.get("description")
                else ""
            )
        )
    if not rows:
        return ""
    head = "<tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>default</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


@cache
def docs_html() -> str:
    doc = openapi_document()
    sections = []
    for path, ops in sorted(doc.get("paths", {}).items()):
        for method, op in ops.items():
            sections.append(
                f"<section><h3><span class=m>{method.upper()}</span> <code>{html.escape(path)}</code></h3>"
                f"<p>{html.escape(op.get('summary', ''))}</p>"
                f"<p class=desc>{html.escape(op.get('description', '') or '')}</p>"
                f"{_param_rows(op.get('parameters', []))}</section>"
            )
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1"><title>{TITLE}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1b1f24}}
h1{{margin-bottom:0}} section{{border-top:1px solid #d0d7de;padding:.5rem 0}}
.m{{display:inline-block;min-width:4.5rem;font-size:.8em;background:#0b5;color:#fff;border-radius:3px;
text-align:center;padding:0 .3rem}} table{{border-collapse:collapse;font-size:.9em}}
td,th{{border:1px solid #d0d7de;padding:.15rem .5rem;text-align:left}} .d td{{color:#57606a;border-top:0}}
.desc{{white-space:pre-line;color:#333}}
</style></head><body>
<h1>{TITLE} <small>{__version__}</small></h1>
<p>{html.escape(DESCRIPTION)}</p>
<p>Machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
{"".join(sections)}
</body></html>"""
