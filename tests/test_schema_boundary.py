"""Each service's database role reaches its own schema and nothing else: PostgreSQL enforces it."""

from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.e2e

SERVICES = ("auth", "production", "orders", "analytics")


def role_dsn(superuser_dsn: str, service: str) -> str:
    host = superuser_dsn.split("@", 1)[1]
    return f"postgresql://lathe_{service}:lathe_{service}@{host}"


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_cannot_touch_another_schema(superuser_dsn, service):
    conn = await asyncpg.connect(role_dsn(superuser_dsn, service))
    try:
        assert await conn.fetchval(f'SELECT count(*) FROM "{service}".outbox') >= 0
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f'SELECT count(*) FROM "{other}".inbox')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
    finally:
        await conn.close()


async def test_the_audit_log_is_append_only_even_for_its_owner(superuser_dsn):
    # Its privileges are revoked from the owner, and triggers refuse even a superuser (partitions
    # included: test_audit_partitions.py).
    conn = await asyncpg.connect(role_dsn(superuser_dsn, "analytics"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied|append-only"):
            await conn.execute("DELETE FROM analytics.audit_log")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied|append-only"):
            await conn.execute("UPDATE analytics.audit_log SET actor = 'someone else'")
    finally:
        await conn.close()
