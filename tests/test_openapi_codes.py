"""Every code a service's OpenAPI documents is one its source raises (or lathe_common's plumbing
does): renaming a code cannot leave the document promising the old one. (That every code a route
answers with is documented, the fuzz test checks: test_openapi_fuzz.)

Codes are read from the source as written: ``code="..."`` literals, f-strings as patterns,
``code=NAME.code`` of a ``NAME = ProblemCode(status, "...", ...)``, and ``<noun>_not_found`` of the
``Repository`` nouns.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from lathe_common import problem_docs
from lathe_common.errors import PROBLEM_JSON

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "production", "orders", "analytics")
# code="..." given to an error, or code = "..." declared on an error class (documents.PreconditionFailed).
CODE_LITERAL = re.compile(r"""\bcode\s?=\s?(f?)["']([a-z_{}.' ]+)["']""")
CODE_CONSTANT = re.compile(r"""\bcode=([A-Z][A-Z0-9_]*)\.code\b""")
PROBLEM_CODE = re.compile(r"""^([A-Z][A-Z0-9_]*) = ProblemCode\(\s*\d+,\s*["']([a-z_]+)["']""", re.MULTILINE)
NOUN = re.compile(r"""^\s+(?:self\.)?noun = (?:["']([a-z ]+)["']|.+)$""", re.MULTILINE)
# What lathe_common answers on routes of a kind (request guard, tokens, cursors, outbox, handlers).
SHARED = {value.code for value in vars(problem_docs).values() if isinstance(value, problem_docs.ProblemCode)}


def raised_by(service: str) -> list[re.Pattern[str]]:
    """Patterns of the codes a service's source raises."""
    found: list[re.Pattern[str]] = []
    # lathe_common's own refusals count for every service: a signed route documents what
    # lathe_common.signatures raises.
    roots = (ROOT / "services" / service / "src", ROOT / "libs" / "common" / "src")
    sources = [path.read_text() for root in roots for path in root.rglob("*.py")]
    constants = {name: code for text in sources for name, code in PROBLEM_CODE.findall(text)}
    for text in sources:
        found += [re.compile(re.escape(constants[name])) for name in CODE_CONSTANT.findall(text) if name in constants]
        for formatted, code in CODE_LITERAL.findall(text):
            found.append(re.compile(re.sub(r"\{[^}]*\}", "[a-z_]+", code) if formatted else re.escape(code)))
        for noun in NOUN.findall(text):  # Repository.get / find: f"{noun}_not_found"; a computed noun: any
            found.append(re.compile(re.escape(noun.replace(" ", "_")) + "_not_found" if noun else "[a-z_]+_not_found"))
    return found


def documented_by(service: str) -> set[str]:
    document = importlib.import_module(f"lathe_{service}.main").app.openapi()
    codes: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if PROBLEM_JSON in response.get("content", {}):
                    codes |= {c.code for c in problem_docs.documented_codes(response, int(status))}
    return codes


@pytest.mark.parametrize("service", SERVICES)
def test_every_code_documented_is_one_the_service_raises(service):
    raised = raised_by(service)

    stale = {code for code in documented_by(service) - SHARED if not any(pattern.fullmatch(code) for pattern in raised)}

    assert not stale, f"{service}'s OpenAPI documents codes nothing raises: {sorted(stale)}"
