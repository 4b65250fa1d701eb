import pytest
from lathe_production.processes.schemas import Criterion, ProcessCreate
from lathe_production.product_models.schemas import ProductModelCreate
from pydantic import ValidationError


def test_criterion_limits_must_be_ordered_and_hold_the_target():
    assert Criterion(unit="mV", lower_limit=-5, upper_limit=5, target=0).target == 0
    assert Criterion(upper_limit=50).lower_limit is None  # one-sided limits are fine
    with pytest.raises(ValidationError, match="lower_limit is above upper_limit"):
        Criterion(lower_limit=5, upper_limit=-5)
    with pytest.raises(ValidationError, match="target lies outside"):
        Criterion(lower_limit=0, upper_limit=1, target=2)


def test_process_codes_are_upper_snake_case():
    ProcessCreate(process_code="P09_BURN_IN", process_number=9, name="Burn-in")
    with pytest.raises(ValidationError):
        ProcessCreate(process_code="p09 burn in", process_number=9, name="Burn-in")


def test_a_routing_names_each_process_once():
    with pytest.raises(ValidationError, match="appears twice"):
        ProductModelCreate(model_code="M1", model_name="M", routing=["P01_LASER_MARKING", "P01_LASER_MARKING"])
    with pytest.raises(ValidationError):
        ProductModelCreate(model_code="M1", model_name="M", routing=[])
