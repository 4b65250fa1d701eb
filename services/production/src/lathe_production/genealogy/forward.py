"""Forward genealogy as a set, for statements that act on every unit a component went into (holds/:
the recall case). The same walk as ``service.FORWARD`` (up the component links from a unit or a LOT,
depth-limited against bad data), reduced to the units' ids so it can feed a set-based statement."""

from __future__ import annotations

# A CTE prefix: ``units_containing(id)`` is every unit that contains :root (a serial's or a LOT's
# id) at any depth; a statement appends what it does with them.
UNITS_CONTAINING = """
    WITH RECURSIVE up AS (
        SELECT c.parent_serial_id, 1 AS depth FROM production.components c
        WHERE c.child_serial_id = :root OR c.child_lot_id = :root
        UNION ALL
        SELECT c.parent_serial_id, up.depth + 1 FROM production.components c
        JOIN up ON c.child_serial_id = up.parent_serial_id WHERE up.depth < 50
    ),
    units_containing AS (SELECT DISTINCT parent_serial_id AS id FROM up)
"""
