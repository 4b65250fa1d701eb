"""Schemathesis hooks for tests/test_openapi_fuzz.py (loaded through SCHEMATHESIS_HOOKS, not a test).

The fuzzer learns identifiers from the answers it gets (users, processes, LOTs) and would then
change what other tests and the demo rely on: deactivate the bootstrap admin, edit the default
processes. So every call that changes an existing resource is pointed at one the fuzz test made
for it, given in LATHE_FUZZ_OWNED ({path parameter: value}); the bodies, queries and headers stay
as generated, and calls that only read or create are left alone.
"""

from __future__ import annotations

import json
import os

import schemathesis

OWNED: dict[str, str] = json.loads(os.environ.get("LATHE_FUZZ_OWNED", "{}"))
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@schemathesis.hook
def before_call(context, case, kwargs) -> None:  # noqa: ANN001, ARG001 - schemathesis' hook signature
    if case.method.upper() not in CHANGING or not case.path_parameters:
        return
    for name in case.path_parameters:
        if name in OWNED:
            case.path_parameters[name] = OWNED[name]
