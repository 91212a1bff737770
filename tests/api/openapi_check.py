"""Holds every response the suite receives to api/openapi.json: the path, method and status must
be described there, and a JSON body must validate against the schema of that response (JSON
Schema 2020-12, the dialect of OpenAPI 3.1). Used by conftest's Session for every request."""
import json
import os
import re
import threading
from urllib.parse import urlsplit

import jsonschema

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC_PATH = os.path.join(REPO, "api", "openapi.json")

with open(DOC_PATH, encoding="utf-8") as f:
    DOC = json.load(f)

_RESOLVER = jsonschema.RefResolver.from_schema(DOC)
_lock = threading.Lock()
_validators = {}
# (method, path template, status) seen by the suite, for the coverage report.
SEEN = set()


def _template_regex(template):
    parts = re.split(r"(\{[^}]+\})", template)
    out = []
    for p in parts:
        if p.startswith("{"):
            out.append("[^/]+")
        else:
            out.append(re.escape(p))
    return re.compile("^" + "".join(out) + "$")


# Literal templates first, so /clients/ wins over a templated sibling.
_TEMPLATES = sorted(DOC["paths"], key=lambda t: t.count("{"))
_REGEXES = [(t, _template_regex(t)) for t in _TEMPLATES]


def find_template(path, method=None):
    """The document's path template for a request path (the trailing slash is optional, as on
    the server), preferring one that has the method, or None."""
    found = []
    for candidate in (path, path + "/" if not path.endswith("/") else path):
        for template, rx in _REGEXES:
            if rx.match(candidate) and template not in found:
                found.append(template)
    for template in found:
        if method and method.lower() in DOC["paths"][template]:
            return template
    return found[0] if found else None


def _validator(key, schema):
    with _lock:
        v = _validators.get(key)
        if v is None:
            v = jsonschema.Draft202012Validator(schema, resolver=_RESOLVER)
            _validators[key] = v
        return v


class ContractError(AssertionError):
    pass


def check(method, url, status, headers, body_bytes):
    """Raises ContractError when the response is not what the document says."""
    path = urlsplit(url).path
    template = find_template(path, method)
    method_l = method.lower()
    ops = DOC["paths"].get(template) if template else None
    if template is None or method_l not in ops:
        # An unknown path or method must be answered 404/405, which the document describes
        # as the API's general conventions; the body is still the error body.
        if status in (404, 405):
            _check_body("#/components/schemas/Error", DOC["components"]["schemas"]["Error"],
                        headers, body_bytes, f"{method} {path} -> {status}")
            return
        raise ContractError(f"{method} {path} answered {status} but the document has no such operation")
    op = ops[method_l]
    responses = op["responses"]
    spec = responses.get(str(status)) or responses.get("default")
    if spec is None:
        raise ContractError(f"{method} {template} answered {status}, which the document does not list "
                            f"(it lists {sorted(responses)})")
    SEEN.add((method.upper(), template, status))
    if "$ref" in spec:
        spec = _RESOLVER.resolve(spec["$ref"])[1]
    content = spec.get("content") or {}
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not content:
        return
    media = content.get(ctype)
    if media is None:
        raise ContractError(f"{method} {template} {status}: content type {ctype!r} not in the document "
                            f"({sorted(content)})")
    schema = media.get("schema")
    if schema is None or ctype != "application/json":
        return
    _check_body((method_l, template, status), schema, headers, body_bytes, f"{method} {template} -> {status}")


def _check_body(key, schema, headers, body_bytes, what):
    try:
        body = json.loads(body_bytes.decode("utf-8"))
    except ValueError as e:
        raise ContractError(f"{what}: body is not JSON: {e}")
    errors = sorted(_validator(key, schema).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.path) or "(root)"
        raise ContractError(f"{what}: body does not match the document at {where}: {e.message}")


def document_routes():
    """{(METHOD, path template)} the document describes."""
    out = set()
    for template, ops in DOC["paths"].items():
        for m in ops:
            if m in ("get", "put", "post", "delete", "patch", "head", "options"):
                out.add((m.upper(), template))
    return out
