"""The audit trail's pure rules: what changed (before / after), secrets kept out, months ahead."""

from __future__ import annotations

from datetime import date

import pytest
from lathe_analytics.audit.changes import FieldChange, field_changes
from lathe_analytics.audit.partitions import months_ahead
from lathe_analytics.audit.secrets import REDACTED, may_hold_secrets, without_secrets
from pydantic_core import to_json


def test_a_change_event_gives_each_named_field_before_and_after():
    data = {"id": "p1", "name": "Burn-in 48h", "is_active": True, "changed": ["is_active", "name"]}
    data["previous"] = {"is_active": False, "name": "Burn-in 24h"}
    assert field_changes(data) == [
        FieldChange("is_active", False, True, recorded=True),
        FieldChange("name", "Burn-in 24h", "Burn-in 48h", recorded=True),
    ]


def test_a_value_that_became_null_or_was_null_is_recorded_as_null():
    data = {"email": None, "full_name": "Ann", "changed": ["email", "full_name"]}
    data["previous"] = {"email": "ann@example.com", "full_name": None}
    assert field_changes(data) == [
        FieldChange("email", "ann@example.com", None, recorded=True),
        FieldChange("full_name", None, "Ann", recorded=True),
    ]


def test_a_password_change_is_named_never_valued_even_if_an_event_carried_values():
    data = {"changed": ["password", "role"], "role": "manager", "password": "x", "previous": {"password": "y"}}
    data["previous"]["role"] = "viewer"
    assert field_changes(data) == [
        FieldChange("password"),
        FieldChange("role", "viewer", "manager", recorded=True),
    ]


def test_events_from_before_previous_values_name_fields_without_values():
    assert field_changes({"name": "New", "changed": ["name"]}) == [FieldChange("name")]
    assert field_changes({"changed": ["email"], "previous": {"email": "a@b"}}) == [FieldChange("email")]


def test_an_orders_document_gives_the_values_after_from_the_document():
    data = {"change": "updated", "changed": ["status"], "previous": {"status": "DRAFT"}}
    data["document"] = {"status": "SUBMITTED", "number": "PO-000001"}
    assert field_changes(data) == [FieldChange("status", "DRAFT", "SUBMITTED", recorded=True)]


def test_a_status_move_is_a_change_of_its_field():
    data = {"lot_number": "WF-1", "previous_status": "CREATED", "status": "IN_PROGRESS"}
    assert field_changes(data) == [FieldChange("status", "CREATED", "IN_PROGRESS", recorded=True)]
    assert field_changes({"previous_status": "CREATED"}) == []  # nothing after: no change to show


def test_events_that_change_nothing_have_no_changes():
    assert field_changes({"id": "u1", "username": "ann", "role": "viewer"}) == []
    assert field_changes({"changed": "name"}) == []  # not a list: not a change list
    assert field_changes({"changed": [1, None]}) == []


@pytest.mark.parametrize("key", ["password", "Password", "password_hash", "refresh_token", "api_key", "secret"])
def test_secrets_are_redacted_at_any_depth(key):
    data = {"user": {"name": "ann", key: "hunter2"}, "items": [{key: "x", "keep": 1}], key: "top"}
    assert without_secrets(data) == {
        "user": {"name": "ann", key: REDACTED},
        "items": [{key: REDACTED, "keep": 1}],
        key: REDACTED,
    }
    assert may_hold_secrets(to_json(data))


def test_names_of_secrets_as_values_are_kept_and_ordinary_events_skip_the_walk():
    data = {"changed": ["password"], "previous": {}}
    assert without_secrets(data) == data
    assert not may_hold_secrets(to_json({"serial_number": "SN-1", "measurements": {"offset_mv": 1.2}}))


@pytest.mark.parametrize(
    ("today", "ahead", "expected"),
    [
        (date(2026, 11, 30), 3, (date(2026, 11, 1), date(2027, 2, 1))),
        (date(2026, 1, 1), 0, (date(2026, 1, 1), date(2026, 1, 1))),
        (date(2026, 12, 15), 1, (date(2026, 12, 1), date(2027, 1, 1))),
        (date(2026, 2, 28), 12, (date(2026, 2, 1), date(2027, 2, 1))),
        (date(2026, 5, 31), 24, (date(2026, 5, 1), date(2028, 5, 1))),
    ],
)
def test_months_ahead_are_counted_from_the_first_of_this_month(today, ahead, expected):
    assert months_ahead(today, ahead) == expected
