"""What a document's change event says changed (lathe_orders.announcements.document_changes)."""

from __future__ import annotations

from lathe_orders.announcements import document_changes

BEFORE = {
    "id": "po-1",
    "status": "DRAFT",
    "notes": None,
    "lines": [{"line_no": 1, "quantity": "10"}],
    "version": 3,
    "updated_at": "2026-11-30T05:00:00Z",
}


def test_a_new_document_changed_nothing():
    assert document_changes(None, BEFORE) == ([], {})


def test_the_fields_that_differ_are_named_with_their_old_values_in_the_document_s_order():
    after = {**BEFORE, "status": "SUBMITTED", "notes": "rush", "version": 4, "updated_at": "2026-11-30T05:01:00Z"}
    assert document_changes(BEFORE, after) == (["status", "notes"], {"status": "DRAFT", "notes": None})


def test_version_and_updated_at_alone_are_no_change():
    after = {**BEFORE, "version": 4, "updated_at": "2026-11-30T05:01:00Z"}
    assert document_changes(BEFORE, after) == ([], {})


def test_a_nested_change_names_its_top_level_field():
    after = {**BEFORE, "lines": [{"line_no": 1, "quantity": "12"}]}
    assert document_changes(BEFORE, after) == (["lines"], {"lines": [{"line_no": 1, "quantity": "10"}]})


def test_fields_that_came_or_went_are_changes():
    after = {key: value for key, value in BEFORE.items() if key != "notes"} | {"approval": {"by": "ann"}}
    changed, previous = document_changes(BEFORE, after)
    assert changed == ["approval", "notes"]
    assert previous == {"notes": None}  # a field that came had no old value


def test_old_values_beyond_the_budget_are_named_without_them():
    after = {**BEFORE, "status": "SUBMITTED", "lines": []}
    budget = len('"DRAFT"') + 1  # room for the status, not for the lines
    changed, previous = document_changes(BEFORE, after, budget=budget)
    assert changed == ["status", "lines"]
    assert previous == {"status": "DRAFT"}
    assert document_changes(BEFORE, after, budget=len('"DRAFT"'))[1] == {"status": "DRAFT"}
    assert document_changes(BEFORE, after, budget=len('"DRAFT"') - 1)[1] == {}
