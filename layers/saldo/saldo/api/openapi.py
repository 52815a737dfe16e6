"""The OpenAPI 3.1 document, generated from the routers' signatures, and a self-contained docs page."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from typing import Any

from saldo import __version__

TITLE = "Saldo API"
DESCRIPTION = (
    "Financial reports, SAF-T Financial, template reports and batch reports for Nordic accounting data. "
    "Authenticate with `Authorization: Bearer <api key>` (the batch API also accepts `lasso-api-key`). "
    "`X-Organization-Id` may be sent on any authenticated route: it must then be the key's organization "
    "(else 403)."
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
    # The batch API also takes the key in Lasso's header.
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["lasso"] = {
        "type": "apiKey",
        "in": "header",
        "name": "lasso-api-key",
        "description": "The same API key, in Lasso's header (the /apps/reporting routes only)",
    }
    for path, ops in doc.get("paths", {}).items():
        if path.startswith("/apps/reporting/") and not path.startswith("/apps/reporting/files/"):
            for op in ops.values():
                op["security"] = [{"bearer": []}, {"lasso": []}]
    for path in ("/health", "/openapi.json", "/docs", "/apps/reporting/files/{token}"):
        for op in doc.get("paths", {}).get(path, {}).values():
            op["security"] = []
    for path, ops in doc.get("paths", {}).items():
        for op in ops.values():
            _tidy_operation(op)
            if path.startswith("/api/v2/reports/") and "200" in op["responses"]:
                if "application/pdf" in op["responses"]["200"].get("content", {}):
                    op.setdefault("parameters", []).append(LANGUAGE_HEADER)
                if "202" in op["responses"] and "jobs" not in path:
                    op["parameters"].append(PREFER_HEADER)
            if path.startswith("/api/v2/companies/") and path.endswith("/reports/{report_type}"):
                op.setdefault("parameters", []).append(COMPANY_LANGUAGE_HEADER)
    _drop_unused_schemas(doc)
    return doc


# Headers that the resolver or the report routes read from the event rather than from a parameter.
LANGUAGE_HEADER = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "Documents are Norwegian (`nb`) unless English (`en`) ranks higher; JSON names are "
    "English "
    "unless Norwegian is asked for",
    "schema": {"type": "string"},
}
COMPANY_LANGUAGE_HEADER = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "Danish labels unless English (`en`) ranks higher; numbers and dates follow the "
    "company's country",
    "schema": {"type": "string"},
}
PREFER_HEADER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "`respond-async`: queue the document (202) whatever its size",
    "schema": {"type": "string"},
}

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


def openapi_json(base_path: str = "") -> str:
    """The document, its server the stage the request came by (`/local`, `/dev`; `/` without one)."""
    server = {"url": base_path or "/", "description": "This API, under the stage requested"}
    return json.dumps({**openapi_document(), "servers": [server]}, indent=1)  # the cached document untouched


_CODE = re.compile(r"`([^`]+)`")
_EMPHASIS = (
    (re.compile(r"\*\*(\S(?:[^*]*\S)?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*(\w(?:[^*]*\w)?)\*(?![\w*])"), r"<em>\1</em>"),
)


def markdown(text: str) -> str:
    """The markdown the descriptions use, as HTML: paragraphs, `- ` lists, `code`, **bold**, *italic*.

    Everything is escaped first, so a description can never inject markup; no links are made (the page
    loads and points at nothing outside itself).
    """
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "".join(out)


def _inline(text: str) -> str:
    """Code spans are taken as they are; emphasis applies only outside them."""
    out = []
    for i, part in enumerate(_CODE.split(text)):
        part = html.escape(part, quote=False)
        if i % 2:
            out.append(f"<code>{part}</code>")
            continue
        for pattern, repl in _EMPHASIS:
            part = pattern.sub(repl, part)
        out.append(part)
    return "".join(out)


def _type(schema: dict[str, Any]) -> str:
    """A short type for a schema: `ErrorBody`, `string (date)`, `Account[]`, `integer | null` ..."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{html.escape(name)}">{html.escape(name)}</a>'
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    kind = schema.get("type", "any" if "const" not in schema else "const")
    if kind == "array":
        return f"{_type(schema.get('items', {}))}[]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    text = html.escape(str(kind))
    if "format" in schema:
        text += f" ({html.escape(schema['format'])})"
    if "enum" in schema:
        text += ": " + ", ".join(html.escape(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        text = html.escape(json.dumps(schema["const"]))
    return text


def _constraints(schema: dict[str, Any]) -> str:
    names = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength", "maxLength")
    parts = [f"{n} {schema[n]}" for n in names if n in schema]
    if "pattern" in schema:
        parts.append(f"pattern <code>{html.escape(schema['pattern'])}</code>")
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            inner = _constraints(branch)
            if inner:
                parts.append(inner)
    return "; ".join(parts)


def _param_rows(params: list[dict[str, Any]]) -> str:
    if not params:
        return ""
    rows = []
    for p in params:
        schema = p.get("schema", {})
        default = schema.get("default")
        notes = " ".join(
            x
            for x in (
                markdown(p.get("description", "")),
                _constraints(schema),
                "<em>deprecated</em>" if p.get("deprecated") else "",
            )
            if x
        )
        rows.append(
            f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{html.escape(p.get('in', ''))}</td>"
            f"<td>{_type(schema)}</td><td>{'yes' if p.get('required') else ''}</td>"
            f"<td>{html.escape('' if default is None else json.dumps(default))}</td><td>{notes}</td></tr>"
        )
    head = "<tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>default</th><th></th></tr>"
    return f"<h4>Parameters</h4><table>{head}{''.join(rows)}</table>"


def _content(content: dict[str, Any]) -> str:
    return "<br>".join(
        f"<code>{html.escape(media)}</code>: {_type(body.get('schema', {}))}"
        for media, body in content.items()
    )


def _request_body(op: dict[str, Any]) -> str:
    body = op.get("requestBody")
    if not body:
        return ""
    required = " (required)" if body.get("required") else ""
    return f"<h4>Request body{required}</h4><p>{_content(body.get('content', {}))}</p>"


def _responses(op: dict[str, Any]) -> str:
    rows = []
    for code, response in sorted(op.get("responses", {}).items()):
        headers = ", ".join(f"<code>{html.escape(h)}</code>" for h in response.get("headers", {}))
        rows.append(
            f"<tr><td>{html.escape(str(code))}</td><td>{markdown(response.get('description', ''))}</td>"
            f"<td>{_content(response.get('content', {}))}</td><td>{headers}</td></tr>"
        )
    head = "<tr><th>status</th><th>meaning</th><th>body</th><th>headers</th></tr>"
    return f"<h4>Responses</h4><table>{head}{''.join(rows)}</table>"


def _schema_section(name: str, schema: dict[str, Any]) -> str:
    rows = []
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        notes = " ".join(x for x in (markdown(prop.get("description", "")), _constraints(prop)) if x)
        rows.append(
            f"<tr><td><code>{html.escape(field)}</code></td><td>{_type(prop)}</td>"
            f"<td>{'yes' if field in required else ''}</td><td>{notes}</td></tr>"
        )
    table = ""
    if rows:
        head = "<tr><th>field</th><th>type</th><th>required</th><th></th></tr>"
        table = f"<table>{head}{''.join(rows)}</table>"
    elif schema.get("type") or "$ref" in schema or "anyOf" in schema or "items" in schema:
        table = f"<p>{_type(schema)}</p>"
    return (
        f'<section id="schema-{html.escape(name)}"><h3>{html.escape(name)}</h3>'
        f"{markdown(schema.get('description', ''))}{table}</section>"
    )


@cache
def docs_html() -> str:
    doc = openapi_document()
    sections = []
    for path, ops in sorted(doc.get("paths", {}).items()):
        for method, op in ops.items():
            sections.append(
                f"<section><h3><span class=m>{method.upper()}</span> <code>{html.escape(path)}</code></h3>"
                f"<p><strong>{html.escape(op.get('summary', ''))}</strong></p>"
                f"<div class=desc>{markdown(op.get('description', '') or '')}</div>"
                f"{_param_rows(op.get('parameters', []))}{_request_body(op)}{_responses(op)}</section>"
            )
    schemas = "".join(
        _schema_section(name, schema) for name, schema in doc.get("components", {}).get("schemas", {}).items()
    )
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1"><title>{TITLE}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:64rem;padding:1rem;color:#1b1f24}}
h1{{margin-bottom:0}} section{{border-top:1px solid #d0d7de;padding:.5rem 0}} h4{{margin:.6rem 0 .2rem}}
.m{{display:inline-block;min-width:4.5rem;font-size:.8em;background:#0b5;color:#fff;border-radius:3px;
text-align:center;padding:0 .3rem}} table{{border-collapse:collapse;font-size:.9em}}
td,th{{border:1px solid #d0d7de;padding:.15rem .5rem;text-align:left;vertical-align:top}}
td p{{margin:0}} code{{background:#f6f8fa;padding:0 .2rem}} .desc{{color:#333}}
</style></head><body>
<h1>{TITLE} <small>{html.escape(__version__)}</small></h1>
{markdown(DESCRIPTION)}
<p>Machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).
Schemas: <a href="#schemas">below</a>.</p>
{"".join(sections)}
<h2 id=schemas>Schemas</h2>
{schemas}
</body></html>"""
