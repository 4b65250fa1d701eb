"""Roles and the permission scopes each grants: the one table every authorization decision uses.

Tokens carry the scopes; services check scopes, never role names, so changing what a role may do
is a change here only. README.md shows this table (a test keeps the two in step).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    ENGINEER = "engineer"
    QUALITY = "quality"
    OPERATOR = "operator"
    PURCHASING = "purchasing"
    VIEWER = "viewer"


SCOPES: dict[str, str] = {
    "users:read": "see user accounts",
    "users:admin": "create, change and deactivate user accounts",
    "audit:read": "read the audit trail",
    "processes:read": "see processes, product models and routings",
    "processes:write": "define processes, product models and routings",
    "lots:read": "see LOTs and serials",
    "lots:write": "create LOTs and serials, change their status",
    "process-data:read": "see step executions and genealogy",
    "process-data:write": "record step executions and consumed components",
    "quality:write": "put LOTs and units on hold; decide nonconformances: rework or scrap (signed)",
    "quality:approve": "approve deviations (use a failed unit as is) and release holds (signed)",
    "orders:read": "see purchase, sales and work orders, customers and suppliers",
    "partners:write": "create, change and deactivate customers and suppliers",
    "purchase-orders:write": "create and change purchase orders",
    "sales-orders:write": "create and change sales orders",
    "work-orders:write": "create and change work orders",
    "orders:approve": "approve, release and close orders",
    "orders:approve-own": "approve a purchase order one created (overrides four eyes, with a reason)",
    "analytics:read": "see yield, performance and WIP analytics",
}

_READ = {"processes:read", "lots:read", "process-data:read", "orders:read", "analytics:read"}

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(SCOPES),
    Role.MANAGER: frozenset(SCOPES) - {"users:admin", "orders:approve-own"},
    Role.ENGINEER: frozenset(_READ | {"processes:write", "lots:write", "process-data:write"}),
    Role.QUALITY: frozenset(
        _READ | {"lots:write", "process-data:write", "audit:read", "quality:write", "quality:approve"}
    ),
    Role.OPERATOR: frozenset(_READ - {"analytics:read"} | {"process-data:write"}),
    Role.PURCHASING: frozenset(_READ | {"purchase-orders:write", "partners:write"}),
    Role.VIEWER: frozenset(_READ),
}


def scopes_for(role: str) -> frozenset[str]:
    return ROLE_SCOPES.get(Role(role), frozenset()) if role in Role.__members__.values() else frozenset()


def matrix_markdown() -> str:
    roles = list(Role)
    lines = ["| scope | meaning | " + " | ".join(r.value for r in roles) + " |", "|---|---|" + "---|" * len(roles)]
    for scope, meaning in SCOPES.items():
        marks = " | ".join("✓" if scope in ROLE_SCOPES[r] else "" for r in roles)
        lines.append(f"| `{scope}` | {meaning} | {marks} |")
    return "\n".join(lines)
