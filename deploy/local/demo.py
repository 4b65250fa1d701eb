"""Demo data for `make run`, loaded through the public API like any client would, then the URLs.

Idempotent: running it again finds what it made before and leaves it alone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / ".run"


def stack_env() -> dict[str, str]:
    lines = (RUN / "stack.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


DEMO_PASSWORD = "Demo-Lathe-2026"
DEMO_ROLES = ("manager", "engineer", "quality", "operator", "purchasing", "viewer")


def call(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local gateway
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def load_demo_users(gateway: str, env: dict[str, str]) -> list[str]:
    status, tokens = call(
        "POST",
        f"{gateway}/api/v1/auth/login",
        {"username": env["LATHE_ADMIN_USERNAME"], "password": env["LATHE_ADMIN_PASSWORD"]},
    )
    if status != 200:
        raise SystemExit(f"demo: admin login failed ({status}): {tokens}")
    made = []
    for role in DEMO_ROLES:
        username = f"demo-{role}"
        status, body = call(
            "POST",
            f"{gateway}/api/v1/users",
            {"username": username, "password": DEMO_PASSWORD, "role": role, "full_name": f"Demo {role.title()}"},
            tokens["access_token"],
        )
        if status not in (201, 409):
            raise SystemExit(f"demo: creating {username} failed ({status}): {body}")
        made.append(username)
    return made


def main() -> None:
    env = stack_env()
    gateway = env["GATEWAY_URL"]
    demo_users = load_demo_users(gateway, env)
    print(
        f"""
Lathe is running.
  API (gateway)      {gateway}/api/v1
  Swagger UI         {gateway}/docs
  OpenAPI            {gateway}/openapi.json
  Services           auth {env["LATHE_AUTH_URL"]}, production {env["LATHE_PRODUCTION_URL"]},
                     orders {env["LATHE_ORDERS_URL"]}, analytics {env["LATHE_ANALYTICS_URL"]}
  Metrics            <any of the above>/metrics
  Kafka              {env["KAFKA_BOOTSTRAP_SERVERS"]}   (kcat -L -b {env["KAFKA_BOOTSTRAP_SERVERS"]})
  PostgreSQL         {env["DATABASE_URL"]}
  Redis              {env["REDIS_URL"]}
  Admin login        {env["LATHE_ADMIN_USERNAME"]} / {env["LATHE_ADMIN_PASSWORD"]}
  Demo users         {", ".join(demo_users)} / {DEMO_PASSWORD}
  Stack environment  {RUN / "stack.env"}

Following the logs; Ctrl-C stops the stack.
"""
    )


if __name__ == "__main__":
    main()
