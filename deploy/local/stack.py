"""The local Lathe stack without Docker: PostgreSQL, Redis, Kafka (KRaft) and the five apps.

Everything runs under one supervisord whose state lives in ``.run/``; ``down`` shuts supervisord
down, which stops exactly the processes ``up`` started. Run with the repo's virtualenv python.

    python deploy/local/stack.py up | down | status | env | logs | wait-ready
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

from servers import (
    GATEWAY_PORT,
    KAFKA_PORT,
    LOGS,
    PG_PORT,
    PG_SUPERPASS,
    PG_SUPERUSER,
    PROMETHEUS_URL,
    REDIS_PORT,
    RUN,
    SERVICES,
    SUPERVISOR_CONF,
    SUPERVISOR_SOCK,
    VENV_PY,
    log,
    pg_bin,
    run,
    setup_kafka,
    setup_postgres,
    setup_redis,
    supervisor_conf,
)

ADMIN_ENV = RUN / "admin.env"


# ---------------------------------------------------------------- environment of the apps


def service_database_url(service: str) -> str:
    return f"postgresql+asyncpg://lathe_{service}:lathe_{service}@127.0.0.1:{PG_PORT}/lathe"


def admin_credentials() -> dict[str, str]:
    if not ADMIN_ENV.exists():
        password = f"Admin-{secrets.token_urlsafe(12)}9a"
        ADMIN_ENV.write_text(f"LATHE_ADMIN_USERNAME=admin\nLATHE_ADMIN_PASSWORD={password}\n")
        ADMIN_ENV.chmod(0o600)
    return dict(line.split("=", 1) for line in ADMIN_ENV.read_text().splitlines() if "=" in line)


def app_environment() -> dict[str, str]:
    env = {
        "DATABASE_URL": f"postgresql://{PG_SUPERUSER}:{PG_SUPERPASS}@127.0.0.1:{PG_PORT}/lathe",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{KAFKA_PORT}",
        "GATEWAY_URL": f"http://127.0.0.1:{GATEWAY_PORT}",
    }
    for service, port in SERVICES.items():
        prefix = f"LATHE_{service.upper()}_"
        env |= {
            f"{prefix}DATABASE_URL": service_database_url(service),
            f"{prefix}KAFKA_BOOTSTRAP_SERVERS": env["KAFKA_BOOTSTRAP_SERVERS"],
            f"{prefix}REDIS_URL": env["REDIS_URL"],
            f"{prefix}PORT": str(port),
            f"{prefix}URL": f"http://127.0.0.1:{port}",
            # The gateway reaches the services from loopback; the gateway itself trusts no proxy.
            f"{prefix}TRUSTED_PROXIES": "127.0.0.1,::1",
            # Short, so a retired signing key is refused within seconds (tests wait for it).
            f"{prefix}AUTH_JWKS_CACHE_SECONDS": "5",
        }
    env |= {
        "LATHE_GATEWAY_PORT": str(GATEWAY_PORT),
        "LATHE_GATEWAY_REDIS_URL": env["REDIS_URL"],
        "LATHE_GATEWAY_JWKS_CACHE_SECONDS": "5",
        **{f"LATHE_GATEWAY_{s.upper()}_URL": f"http://127.0.0.1:{p}" for s, p in SERVICES.items()},
        "LATHE_AUTH_KEYS_DIR": str(RUN / "auth-keys"),
    }
    return env | admin_credentials()


def write_stack_env(env: dict[str, str]) -> None:
    """Written readable by its owner only: it holds the admin's password and the database's."""
    path = RUN / "stack.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    path.chmod(0o600)  # an older copy may have been created with wider rights


def supervisorctl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(
        str(VENV_PY.parent / "supervisorctl"),
        "-c",
        str(SUPERVISOR_CONF),
        *args,
        check=check,
        capture_output=True,
        text=True,
    )


def supervisord_running() -> bool:
    return SUPERVISOR_SOCK.exists() and supervisorctl("pid", check=False).returncode == 0


# ---------------------------------------------------------------- waiting


def wait_for(what: str, probe, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    sys.exit(f"[stack] {what} did not become ready within {timeout:.0f}s; see {LOGS}")


def tcp_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def kafka_answers() -> bool:
    """The broker serves metadata. Asked only once its port is open, and with aiokafka's own
    connection errors kept quiet: "Unable connect" while Kafka starts is expected, not news."""
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if not tcp_open(KAFKA_PORT):
        return False

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}", request_timeout_ms=3000)
        await admin.start()
        try:
            await admin.list_topics()
            return True
        finally:
            await admin.close()

    return asyncio.run(probe())


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
        return response.status == 200


# ---------------------------------------------------------------- database roles and schemas


def provision_database() -> None:
    """One database, one login role per service owning its schema and nothing else."""
    import asyncpg

    async def go() -> None:
        base = f"postgresql://{PG_SUPERUSER}:{PG_SUPERPASS}@127.0.0.1:{PG_PORT}"
        conn = await asyncpg.connect(f"{base}/postgres")
        try:
            for db in ("lathe", "lathe_test"):
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
                    await conn.execute(f'CREATE DATABASE "{db}"')
        finally:
            await conn.close()
        conn = await asyncpg.connect(f"{base}/lathe")
        try:
            await conn.execute("REVOKE ALL ON DATABASE lathe FROM PUBLIC; REVOKE ALL ON SCHEMA public FROM PUBLIC")
            for service in SERVICES:
                role = f"lathe_{service}"
                if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                    await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{role}'")
                await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE lathe TO {role}")
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{service}" AUTHORIZATION {role}')
                await conn.execute(f'ALTER ROLE {role} SET search_path = "{service}"')
            # Where `python -m lathe_analytics rebuild` builds fresh read-model tables before swapping them in.
            await conn.execute('CREATE SCHEMA IF NOT EXISTS "analytics_rebuild" AUTHORIZATION lathe_analytics')
        finally:
            await conn.close()

    asyncio.run(go())


# ---------------------------------------------------------------- commands


def up(args: argparse.Namespace) -> None:
    for d in (RUN, LOGS):
        d.mkdir(parents=True, exist_ok=True)
    pg_data = setup_postgres()
    redis_conf = setup_redis()
    kafka_props = setup_kafka()
    env = app_environment()
    SUPERVISOR_CONF.write_text(supervisor_conf(pg_data, redis_conf, kafka_props, env))
    if supervisord_running():
        supervisorctl("update", check=False)
        supervisorctl("start", "infra:*", check=False)
    else:
        log("starting supervisord (PostgreSQL, Redis, Kafka)")
        run(str(VENV_PY.parent / "supervisord"), "-c", str(SUPERVISOR_CONF))
    wait_for(
        "PostgreSQL",
        lambda: (
            tcp_open(PG_PORT)
            and run(pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-q", check=False).returncode == 0
        ),
    )
    wait_for("Redis", lambda: tcp_open(REDIS_PORT))
    wait_for("Kafka", kafka_answers)
    log(f"infrastructure ready: postgres :{PG_PORT}, redis :{REDIS_PORT}, kafka :{KAFKA_PORT}")
    provision_database()
    for service in SERVICES:
        run(str(VENV_PY), "-m", f"lathe_{service}", "migrate", env=env)
    log("migrations applied")
    out = run(str(VENV_PY), "-m", "lathe_auth", "create-admin", env=env, capture_output=True, text=True)
    log(out.stdout.strip())
    # Not in the apps' environment: changing theirs would have `update` restart every app.
    write_stack_env(env | {"PROMETHEUS_URL": PROMETHEUS_URL})
    if args.infra_only:
        return
    supervisorctl("start", "apps:*", check=False)
    for service, port in [*SERVICES.items(), ("gateway", GATEWAY_PORT)]:
        wait_for(f"{service} (:{port})", lambda port=port: http_ok(f"http://127.0.0.1:{port}/health/ready"))
    log(f"all services ready; gateway at http://127.0.0.1:{GATEWAY_PORT} (stack env in {RUN / 'stack.env'})")
    if "[group:monitoring]" in SUPERVISOR_CONF.read_text():
        supervisorctl("start", "monitoring:*", check=False)
        wait_for("Prometheus", lambda: http_ok(f"{PROMETHEUS_URL}/-/ready"))
        log(f"Prometheus at {PROMETHEUS_URL}, scraping every app (deploy/prometheus/prometheus-local.yml)")
    else:
        log("Prometheus is not installed (Debian package prometheus, `make deps`): not started")


def down(_: argparse.Namespace) -> None:
    if not supervisord_running():
        log("nothing running")
        return
    pid = int((RUN / "supervisord.pid").read_text().strip())
    supervisorctl("shutdown", check=False)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log("stack stopped")
            return
        time.sleep(0.3)
    sys.exit("[stack] supervisord did not stop within 90s")


def status(_: argparse.Namespace) -> None:
    if not supervisord_running():
        print("stopped")
        return
    print(supervisorctl("status", check=False).stdout, end="")


def logs(_: argparse.Namespace) -> None:
    files = sorted(str(p) for p in LOGS.glob("*.log") if p.name != "supervisord.log")
    os.execvp("tail", ["tail", "-n", "20", "-F", *files])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start everything in the background; return when ready")
    p_up.add_argument("--infra-only", action="store_true", help="PostgreSQL, Redis, Kafka and migrations only")
    sub.add_parser("down", help="stop exactly what up started")
    sub.add_parser("status")
    sub.add_parser("logs", help="follow every process's log")
    args = parser.parse_args()
    {"up": up, "down": down, "status": status, "logs": logs}[args.command](args)


if __name__ == "__main__":
    main()
