import pytest
from lathe_orders.erp.revisions import Verdict, verdict


@pytest.mark.parametrize(
    ("applied", "incoming", "expected"),
    [
        (None, 0, Verdict.CREATE),
        (None, 7, Verdict.CREATE),
        (3, 4, Verdict.APPLY),
        (3, 100, Verdict.APPLY),
        (3, 3, Verdict.SAME),
        (3, 2, Verdict.STALE),
        (0, 0, Verdict.SAME),
    ],
)
def test_the_revision_decides(applied, incoming, expected):
    assert verdict(applied, incoming) is expected
