"""The three servers of the local stack (PostgreSQL, Redis, Kafka in KRaft mode), each set up once
under ``.run/``, and the supervisord configuration that runs them, the apps and Prometheus."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("LATHE_RUN_DIR", ROOT / ".run")).resolve()
LOGS = RUN / "logs"
VENV_PY = Path(sys.executable)
SUPERVISOR_CONF = RUN / "supervisord.conf"
SUPERVISOR_SOCK = RUN / "supervisor.sock"

PG_PORT = int(os.environ.get("LATHE_PG_PORT", 55432))
REDIS_PORT = int(os.environ.get("LATHE_REDIS_PORT", 56379))
KAFKA_PORT = int(os.environ.get("LATHE_KAFKA_PORT", 59092))
KAFKA_CONTROLLER_PORT = int(os.environ.get("LATHE_KAFKA_CONTROLLER_PORT", 59093))
PROMETHEUS_PORT = int(os.environ.get("LATHE_PROMETHEUS_PORT", 59090))
PROMETHEUS_URL = f"http://127.0.0.1:{PROMETHEUS_PORT}"
PG_SUPERUSER, PG_SUPERPASS = "lathe", "lathe"

SERVICES = {"auth": 8001, "production": 8002, "orders": 8003, "analytics": 8004}
GATEWAY_PORT = 8000


def log(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def run(*cmd: str, env: dict[str, str] | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env={**os.environ, **(env or {})}, check=check, **kw)


# ---------------------------------------------------------------- configuration of each server


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        sys.exit("PostgreSQL server binaries not found; run `make deps`")
    return found[-1]


def pg_data_dir() -> Path:
    """``.run/pgdata``, unless the postgres user cannot reach it (a checkout under /root): then a
    directory under /var/tmp that ``.run/pgdata`` links to."""
    link = RUN / "pgdata"
    if link.is_symlink() or link.exists():
        return link.resolve()
    probe = run("runuser", "-u", "postgres", "--", "test", "-x", str(RUN), check=False)
    if probe.returncode == 0:
        link.mkdir(parents=True)
        shutil.chown(link, "postgres", "postgres")
        return link
    target = Path("/var/tmp") / f"lathe-pgdata-{hashlib.sha1(str(RUN).encode()).hexdigest()[:10]}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.chown(target, "postgres", "postgres")
    link.symlink_to(target)
    return target


def setup_postgres() -> Path:
    data = pg_data_dir()
    if not (data / "PG_VERSION").exists():
        log(f"initialising PostgreSQL cluster in {data}")
        os.chmod(data, 0o700)
        pwfile = data.parent / f".pw-{os.getpid()}"
        pwfile.write_text(PG_SUPERPASS)
        shutil.chown(pwfile, "postgres", "postgres")
        try:
            run(
                "runuser",
                "-u",
                "postgres",
                "--",
                pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                PG_SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                stdout=subprocess.DEVNULL,
                cwd="/",  # the postgres user may not be allowed into the checkout
            )
        finally:
            pwfile.unlink(missing_ok=True)
    return data


def setup_redis() -> Path:
    (RUN / "redis").mkdir(parents=True, exist_ok=True)
    conf = RUN / "redis.conf"
    conf.write_text(
        f"port {REDIS_PORT}\nbind 127.0.0.1\ndir {RUN / 'redis'}\nappendonly yes\nprotected-mode yes\nsave 60 1000\n"
    )
    return conf


def setup_kafka() -> Path:
    kafka = RUN / "kafka"
    libs = kafka / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        sys.exit("Kafka jars missing in .run/kafka/libs; run `make deps`")
    data = kafka / "data"
    props = kafka / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{KAFKA_CONTROLLER_PORT}",
                f"listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT},CONTROLLER://127.0.0.1:{KAFKA_CONTROLLER_PORT}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=3",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "share.coordinator.state.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        )
    )
    if not (data / "meta.properties").exists():
        log("formatting Kafka KRaft storage")
        data.mkdir(parents=True, exist_ok=True)
        classpath = f"{libs}/*"
        cluster_id = (
            run("java", "-cp", classpath, "kafka.tools.StorageTool", "random-uuid", capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        run(
            "java",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(props),
            "--standalone",
            stdout=subprocess.DEVNULL,
        )
    return props


# ---------------------------------------------------------------- supervisord


# Sized for a developer's machine running everything at once (documented in docs/operations-deploy.md):
# the default 128 MB of shared buffers and 1 GB of WAL between checkpoints make bulk ingestion pay for
# reads from the OS cache and a full-page image per index page after every checkpoint.
PG_TUNING = "-c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=15min -c wal_buffers=32MB"


def supervisor_conf(pg_data: Path, redis_conf: Path, kafka_props: Path, env: dict[str, str]) -> str:
    app_env = ",".join(f'{k}="{v}"' for k, v in env.items())
    programs = {
        "postgres": dict(
            command=f"{pg_bin('postgres')} -D {pg_data} -p {PG_PORT} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={pg_data} -c max_connections=300 -c fsync=on {PG_TUNING}",
            user="postgres",
            stopsignal="INT",
            priority=10,
            autostart="true",
        ),
        "redis": dict(command=f"{shutil.which('redis-server')} {redis_conf}", priority=10, autostart="true"),
        "kafka": dict(
            command=f"java -Xms256m -Xmx1g -XX:+UseG1GC -cp {RUN / 'kafka' / 'libs'}/* kafka.Kafka {kafka_props}",
            priority=10,
            autostart="true",
            stopwaitsecs=60,
        ),
    }
    # Monitoring: its own group, so adding it to a running stack (`supervisorctl update`) restarts nothing else.
    prometheus = shutil.which("prometheus")
    if prometheus is not None:
        programs["prometheus"] = dict(
            command=f"{prometheus} --config.file={ROOT / 'deploy' / 'prometheus' / 'prometheus-local.yml'} "
            f"--storage.tsdb.path={RUN / 'prometheus'} --storage.tsdb.retention.time=7d "
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            priority=60,
            autostart="true",
        )
    for service in [*SERVICES, "gateway"]:
        programs[service] = dict(
            command=f"{VENV_PY} -m lathe_{service} serve",
            autostart="false",
            environment=app_env,
            directory=str(ROOT),
            priority=50,
            stopwaitsecs=20,
        )
    lines = [
        "[unix_http_server]",
        f"file={SUPERVISOR_SOCK}",
        "[supervisord]",
        f"logfile={LOGS / 'supervisord.log'}",
        f"pidfile={RUN / 'supervisord.pid'}",
        f"childlogdir={LOGS}",
        "nodaemon=false",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "[supervisorctl]",
        f"serverurl=unix://{SUPERVISOR_SOCK}",
    ]
    for name, opts in programs.items():
        lines.append(f"[program:{name}]")
        opts = {
            "autorestart": "true",
            "startsecs": 2,
            "stopasgroup": "true",
            "killasgroup": "true",
            "redirect_stderr": "true",
            "stdout_logfile": str(LOGS / f"{name}.log"),
            "stdout_logfile_maxbytes": "50MB",
            **opts,
        }
        lines += [f"{k}={v}" for k, v in opts.items()]
    lines += [
        "[group:infra]",
        "programs=postgres,redis,kafka",
        "[group:apps]",
        f"programs={','.join([*SERVICES, 'gateway'])}",
    ]
    if "prometheus" in programs:
        lines += ["[group:monitoring]", "programs=prometheus"]
    return "\n".join(lines) + "\n"
