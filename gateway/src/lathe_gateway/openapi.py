"""One OpenAPI document for the whole API, merged from each service's own.

Kept: paths under ``/api/v1`` or ``/.well-known`` that the gateway routes to the service that
documents them. Schemas are pooled under ``components.schemas``; when services define a name with
different content (or with the same text referring to schemas that themselves differ), every
service's version is renamed ``{service}_{Name}`` and that service's ``$ref``s are rewritten.
Security is the gateway's: every operation needs a bearer token except the public endpoints.
Refusals the gateway answers itself (rate limits, body limits, its admission control, a service
it cannot reach, and the token check for protected operations) are added to every operation, as
problems beside the services' own (``lathe_common.problem_docs``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from lathe_common.problem_docs import GATEWAY_PROBLEMS, GATEWAY_SIGN_IN_PROBLEMS, add_problems, problem_schemas

from lathe_gateway.routes import public_endpoint, resolve

SCHEMA_REF = "#/components/schemas/"
PUBLISHED_PREFIXES = ("/api/v1/", "/.well-known/")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
LOGIN_PATH = "/api/v1/auth/login"

SECURITY_SCHEMES: dict[str, Any] = {
    # Swagger UI's Authorize button signs in through the password form that login accepts.
    "OAuth2PasswordBearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": LOGIN_PATH, "scopes": {}}}},
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"Access token from POST {LOGIN_PATH}",
    },
}
SECURITY = [{"OAuth2PasswordBearer": []}, {"HTTPBearer": []}]

Document = dict[str, Any]


def _refs(node: Any) -> Iterator[str]:
    """Schema names that ``node`` refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            yield ref[len(SCHEMA_REF) :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of ``node`` with references to renamed schemas pointing at the new names."""
    if isinstance(node, dict):
        copy = {key: _rewrite_refs(value, renames) for key, value in node.items()}
        ref = copy.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF) and ref[len(SCHEMA_REF) :] in renames:
            copy["$ref"] = SCHEMA_REF + renames[ref[len(SCHEMA_REF) :]]
        return copy
    if isinstance(node, list):
        return [_rewrite_refs(value, renames) for value in node]
    return node


def schema_renames(schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Per service, ``{old name: new name}`` for the schemas that must not share a name."""
    definers: dict[str, list[str]] = defaultdict(list)
    for service, named in schemas.items():
        for name in named:
            definers[name].append(service)
    shared = {name: services for name, services in definers.items() if len(services) > 1}
    clashing: set[str] = set()

    def clashes(name: str) -> bool:
        first, *others = (schemas[service][name] for service in shared[name])
        if any(other != first for other in others):
            return True
        # Same text, but a $ref inside now means different things per service.
        return any(ref in clashing for service in shared[name] for ref in _refs(schemas[service][name]))

    changed = True
    while changed:  # renaming one schema can make identical-looking ones that refer to it differ
        changed = False
        for name in shared:
            if name not in clashing and clashes(name):
                clashing.add(name)
                changed = True

    taken = set(definers)
    renames: dict[str, dict[str, str]] = {service: {} for service in schemas}
    for name in sorted(clashing):
        for service in shared[name]:
            new_name = f"{service}_{name}"
            while new_name in taken:
                new_name = f"{service}_{new_name}"
            taken.add(new_name)
            renames[service][name] = new_name
    return renames


def _published(path: str, service: str) -> bool:
    route = resolve(path)
    return path.startswith(PUBLISHED_PREFIXES) and route is not None and route.service == service


def _secured(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The operation as the gateway serves it: its security, and what the gateway itself answers."""
    operation = dict(operation)
    operation["responses"] = dict(operation.get("responses", {}))
    if public_endpoint(method, path) is not None:
        operation["security"] = []  # explicitly open: no lock in Swagger UI
        add_problems(operation, GATEWAY_PROBLEMS)
    else:
        operation.pop("security", None)  # the document-wide requirement applies
        add_problems(operation, [*GATEWAY_PROBLEMS, *GATEWAY_SIGN_IN_PROBLEMS])
    return operation


def documented_methods(document: Document, path: str) -> list[str] | None:
    """The methods ``document`` lists at ``path`` (a request's path, parameters filled in), from
    every path template it matches; None when it matches none."""
    found: set[str] | None = None
    for template, item in document.get("paths", {}).items():
        if _template_pattern(template).fullmatch(path):
            found = (found or set()) | {key.upper() for key in item if key in HTTP_METHODS}
    return sorted(found) if found is not None else None


def _template_pattern(template: str) -> re.Pattern[str]:
    # "/api/v1/lots/{lot}/status": literal text as it is, a parameter one path segment.
    parts = re.split(r"\{[^/{}]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def merge_openapi(
    documents: Mapping[str, Document | None], *, title: str = "Lathe API", version: str = "1"
) -> Document:
    """Merge each service's document; a None document (service down) is left out and named in the description."""
    available = {service: doc for service, doc in documents.items() if doc is not None}
    missing = sorted(service for service, doc in documents.items() if doc is None)
    renames = schema_renames(
        {service: doc.get("components", {}).get("schemas", {}) for service, doc in available.items()}
    )
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    for service, original in available.items():
        doc = _rewrite_refs(original, renames[service])
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames[service].get(name, name), schema)
        for path, item in doc.get("paths", {}).items():
            if not _published(path, service):
                continue
            merged = paths.setdefault(path, {})
            for key, value in item.items():
                merged.setdefault(key, _secured(key, path, value) if key in HTTP_METHODS else value)
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)

    description = "Every Lathe service behind the gateway. Sign in with POST /api/v1/auth/login (or Authorize)."
    if missing:
        description += f"\n\n**Unavailable when this document was built, so not shown:** {', '.join(missing)}."
    merged_doc: Document = {
        "openapi": next(iter(available.values()), {}).get("openapi", "3.1.0"),
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        # The services define Problem too (the same); it is the gateway's own refusals' schema.
        "components": {
            "schemas": dict(sorted({**schemas, **problem_schemas()}.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": SECURITY,
    }
    if tags:
        merged_doc["tags"] = list(tags.values())
    return merged_doc
