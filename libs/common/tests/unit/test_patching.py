import pytest
from lathe_common.patching import changed_field
from pydantic import BaseModel, Field, ValidationError


class Change(BaseModel):
    name: str = changed_field(min_length=1)
    active: bool = changed_field()
    note: str | None = Field(default=None)


def test_left_out_fields_are_not_changes_and_null_clears_only_what_may_be_empty():
    assert Change.model_validate({}).model_dump(exclude_unset=True) == {}
    assert Change.model_validate({"note": None}).model_dump(exclude_unset=True) == {"note": None}
    assert Change.model_validate({"name": "x", "active": False}).model_dump(exclude_unset=True) == {
        "name": "x",
        "active": False,
    }


@pytest.mark.parametrize("body", [{"name": None}, {"active": None}, {"name": ""}])
def test_null_is_not_a_value_for_a_field_that_holds_one(body):
    with pytest.raises(ValidationError):
        Change.model_validate(body)


def test_the_schema_offers_no_null():
    schema = Change.model_json_schema()["properties"]
    assert schema["name"] == {"minLength": 1, "title": "Name", "type": "string"}
    assert schema["active"] == {"title": "Active", "type": "boolean"}
