"""Demo data for `make run`, loaded through the public API like any client would, then the URLs.

Idempotent: running it again finds what it made before and leaves it alone.
"""

from __future__ import annotations

from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / ".run"


def stack_env() -> dict[str, str]:
    lines = (RUN / "stack.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def main() -> None:
    env = stack_env()
    gateway = env["GATEWAY_URL"]
    print(
        f"""
Lathe is running.
  API (gateway)      {gateway}/api/v1
  Swagger UI         {gateway}/docs
  OpenAPI            {gateway}/openapi.json
  Services           auth {env['LATHE_AUTH_URL']}, production {env['LATHE_PRODUCTION_URL']},
                     orders {env['LATHE_ORDERS_URL']}, analytics {env['LATHE_ANALYTICS_URL']}
  Metrics            <any of the above>/metrics
  Kafka              {env['KAFKA_BOOTSTRAP_SERVERS']}   (kcat -L -b {env['KAFKA_BOOTSTRAP_SERVERS']})
  PostgreSQL         {env['DATABASE_URL']}
  Redis              {env['REDIS_URL']}
  Admin login        {env['LATHE_ADMIN_USERNAME']} / {env['LATHE_ADMIN_PASSWORD']}
  Stack environment  {RUN / 'stack.env'}

Following the logs; Ctrl-C stops the stack.
"""
    )


if __name__ == "__main__":
    main()
