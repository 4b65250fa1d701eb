"""A fact committed in one service reaches a consumer in another, once, even when delivered twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from lathe_common.testing import eventually, read_topic

from .conftest import bearer

pytestmark = pytest.mark.e2e

USERS_TOPIC = "lathe.auth.users.v1"
AUDIT_GROUP = "lathe.analytics.audit-log"


async def create_user_in_auth(username: str) -> None:
    """Through auth's own code path (the bootstrap command), which commits the user and its event."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lathe_auth",
        "create-admin",
        "--username",
        username,
        "--password",
        "Str0ng-Passw0rd",
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()


async def user_id(superuser_dsn: str, username: str) -> str:
    conn = await asyncpg.connect(superuser_dsn)
    try:
        return str(await conn.fetchval("SELECT id FROM auth.users WHERE username = $1", username))
    finally:
        await conn.close()


async def audit_entries(gateway, subject: str, token: str) -> int:
    params = {"subject": subject, "count": "exact"}
    response = await gateway.get("/api/v1/audit-logs", params=params, headers=bearer(token))
    assert response.status_code == 200
    return response.json()["total"]


async def audit_group_caught_up(kafka: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(AUDIT_GROUP)
        await consumer.topics()  # loads metadata
        partitions = consumer.partitions_for_topic(USERS_TOPIC) or set()
        ends = await consumer.end_offsets([TopicPartition(USERS_TOPIC, p) for p in partitions])
    finally:
        await admin.close()
        await consumer.stop()
    return all(end == 0 or (committed.get(tp) is not None and committed[tp].offset >= end) for tp, end in ends.items())


async def test_user_created_in_auth_reaches_the_audit_trail_once(gateway, kafka, superuser_dsn, accounts):
    token = await accounts.admin_token()
    username = f"e2e-{uuid.uuid4().hex[:8]}"
    await create_user_in_auth(username)
    subject = await user_id(superuser_dsn, username)

    assert await eventually(lambda: audit_entries(gateway, subject, token), timeout=30) == 1
    entry = (await gateway.get("/api/v1/audit-logs", params={"subject": subject}, headers=bearer(token))).json()[
        "items"
    ][0]
    assert entry["event_type"] == "lathe.auth.user.created.v1"
    assert entry["source"] == "lathe/auth"
    assert entry["data"]["username"] == username
    assert "password" not in str(entry["data"]).lower()

    # Deliver the very same event again, as a replay or a producer retry would.
    records = await read_topic(kafka, USERS_TOPIC, expect=10_000, timeout=3)
    original = next(r for r in records if dict(r.headers).get("ce_subject") == subject.encode())
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            USERS_TOPIC, value=original.value, key=original.key, headers=list(original.headers)
        )
    finally:
        await producer.stop()

    # Once the analytics consumer has committed past the duplicate, it has handled it.
    await eventually(lambda: audit_group_caught_up(kafka), timeout=30)
    assert await audit_entries(gateway, subject, token) == 1
