"""Rules that request models state in their JSON schema (lathe_common.schema_rules): the schema
accepts exactly what the model's validator accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import jsonschema_rs
import pytest
from lathe_common.schema_rules import IsoAwareDateTime, IsoDate, IsoDateTime, at_least_one_of, exactly_one_of
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator


class OneOf(BaseModel):
    model_config = ConfigDict(json_schema_extra=exactly_one_of("code", "id"))

    code: str | None = None
    id: int | None = None

    @model_validator(mode="after")
    def _one(self) -> OneOf:
        if (self.code is None) == (self.id is None):
            raise ValueError("give exactly one of code and id")
        return self


class AnyOf(BaseModel):
    model_config = ConfigDict(json_schema_extra=at_least_one_of("serial", "lot"))

    serial: str | None = None
    lot: str | None = None

    @model_validator(mode="after")
    def _some(self) -> AnyOf:
        if self.serial is None and self.lot is None:
            raise ValueError("one of serial and lot is required")
        return self


BODIES = [
    {},
    {"code": "A"},
    {"id": 1},
    {"code": "A", "id": 1},
    {"code": "A", "id": None},
    {"code": None, "id": 1},
    {"code": None, "id": None},
    {"code": None},
]


def _model_accepts(model: type[BaseModel], body: dict) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("body", BODIES)
def test_exactly_one_of_states_what_the_validator_checks(body):
    schema_accepts = jsonschema_rs.validator_for(OneOf.model_json_schema()).is_valid(body)
    assert schema_accepts == _model_accepts(OneOf, body)


@pytest.mark.parametrize("body", [{"serial" if k == "code" else "lot": v for k, v in b.items()} for b in BODIES])
def test_at_least_one_of_states_what_the_validator_checks(body):
    body = {key: (str(value) if isinstance(value, int) else value) for key, value in body.items()}
    schema_accepts = jsonschema_rs.validator_for(AnyOf.model_json_schema()).is_valid(body)
    assert schema_accepts == _model_accepts(AnyOf, body)


@pytest.mark.parametrize("value", [0, 0.5, "0", "0.5", "1700000000", "1e9", True])
@pytest.mark.parametrize("kind", [IsoDateTime, IsoAwareDateTime, IsoDate])
def test_a_number_is_not_a_date_or_time(kind, value):
    with pytest.raises(ValidationError, match="ISO 8601"):
        TypeAdapter(kind).validate_python(value)


def test_iso_text_and_python_values_still_are():
    assert TypeAdapter(IsoDateTime).validate_python("2026-11-30T08:00:00Z") == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert TypeAdapter(IsoAwareDateTime).validate_json('"2026-11-30T08:00:00+00:00"').tzinfo is not None
    assert TypeAdapter(IsoDate).validate_python("2026-11-30") == date(2026, 11, 30)
    assert TypeAdapter(IsoDate).validate_python(date(2026, 11, 30)) == date(2026, 11, 30)
    assert TypeAdapter(IsoDateTime).json_schema() == {"format": "date-time", "type": "string"}  # the schema as before
