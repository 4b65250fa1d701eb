"""A problem's standard members are the error's own, whatever extras a raise carries."""

from __future__ import annotations

import json

from lathe_common.errors import Conflict, problem, problem_from


def test_extras_named_like_standard_members_neither_fail_nor_replace_them() -> None:
    error = Conflict("The LOT is full.", code="lot_full", status="CLOSED", title="LOT-1", type="x", capacity=5)
    response = problem_from(error)
    body = json.loads(response.body)
    assert response.status_code == 409
    assert (body["status"], body["title"], body["code"]) == (409, "Conflict", "lot_full")
    assert body["type"].endswith("/lot_full")
    assert body["capacity"] == 5


def test_problem_takes_any_extra_name() -> None:
    body = json.loads(problem(422, "x", "X", "said", detail="other", status=1, instance="i").body)
    assert (body["detail"], body["status"]) == ("said", 422) and "instance" not in body
