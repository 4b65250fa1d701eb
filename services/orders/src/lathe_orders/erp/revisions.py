"""Which ERP revision applies: a pure rule.

ERP documents are upserted by (source, external_id): the first revision seen creates the document,
a higher one changes it (under the same rules as a change through the API), the revision already
applied again is nothing, and a lower one arrived late and is ignored (and counted)."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    CREATE = "CREATE"
    APPLY = "APPLY"
    SAME = "SAME"
    STALE = "STALE"


def verdict(applied: int | None, incoming: int) -> Verdict:
    """``applied``: the revision of the document Lathe holds (None: it holds none)."""
    if applied is None:
        return Verdict.CREATE
    if incoming > applied:
        return Verdict.APPLY
    if incoming == applied:
        return Verdict.SAME
    return Verdict.STALE
