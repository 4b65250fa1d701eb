"""Demo data for `make run`, loaded through the public API like any client would, then the URLs.

Idempotent: running it again finds what it made before and leaves it alone.
"""

from __future__ import annotations

from pathlib import Path

from demo_client import call
from demo_orders import load_demo_orders
from demo_quality import load_demo_quality

RUN = Path(__file__).resolve().parents[2] / ".run"


def stack_env() -> dict[str, str]:
    lines = (RUN / "stack.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


DEMO_PASSWORD = "Demo-Lathe-2026"
DEMO_ROLES = ("manager", "engineer", "quality", "operator", "purchasing", "viewer")


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


DEMO_MODEL = "NH-2024-A1"
DEMO_ROUTING = [
    "P01_LASER_MARKING",
    "P02_LMA_ASSEMBLY",
    "P03_SENSOR_INSPECTION",
    "P04_FIRMWARE_UPLOAD",
    "P05_ROBOT_ASSEMBLY",
    "P06_PERFORMANCE_TEST",
    "P07_LABEL_PRINTING",
    "P08_PACKAGING_VISUAL_INSPECTION",
]


def load_demo_production(gateway: str, token: str) -> str:
    """A product model, and (once) a LOT of ten units part-way through their routing."""
    status, _ = call(
        "POST",
        f"{gateway}/api/v1/product-models",
        {
            "model_code": DEMO_MODEL,
            "model_name": "NeuroHub Standard",
            "category": "Standard",
            "specifications": {"sensor_type": "IMU", "wireless": "BLE 5.0"},
            "routing": DEMO_ROUTING,
        },
        token,
    )
    if status == 409:
        return "demo product model and LOT already loaded"
    _, lot = call(
        "POST",
        f"{gateway}/api/v1/lots",
        {"model_code": DEMO_MODEL, "target_quantity": 10, "work_order_number": "WO-DEMO-001"},
        token,
    )
    _, made = call("POST", f"{gateway}/api/v1/lots/{lot['id']}/serials", {"count": 10}, token)
    for n, unit in enumerate(made["items"]):
        for process in DEMO_ROUTING[: n % 5 + 1]:
            measurements = {"offset_mv": 1.2 + n / 10} if process == "P03_SENSOR_INSPECTION" else {}
            call(
                "POST",
                f"{gateway}/api/v1/process-data",
                {
                    "serial_number": unit["serial_number"],
                    "process_code": process,
                    "operator": "demo-operator",
                    "equipment_id": "DEMO-LINE-1",
                    "measurements": measurements,
                },
                token,
            )
    return f"LOT {lot['lot_number']} ({DEMO_MODEL}, 10 units in progress)"


def main() -> None:
    env = stack_env()
    gateway = env["GATEWAY_URL"]
    demo_users = load_demo_users(gateway, env)
    _, tokens = call(
        "POST",
        f"{env['LATHE_AUTH_URL']}/api/v1/auth/login",
        {"username": env["LATHE_ADMIN_USERNAME"], "password": env["LATHE_ADMIN_PASSWORD"]},
    )
    production = load_demo_production(gateway, tokens["access_token"])
    orders = load_demo_orders(gateway, tokens["access_token"], DEMO_PASSWORD, DEMO_MODEL, DEMO_ROUTING)
    _, quality_tokens = call(
        "POST", f"{env['LATHE_AUTH_URL']}/api/v1/auth/login", {"username": "demo-quality", "password": DEMO_PASSWORD}
    )
    quality = load_demo_quality(gateway, tokens["access_token"], quality_tokens["access_token"], DEMO_PASSWORD)
    print(
        f"""
Lathe is running.
  API (gateway)      {gateway}/api/v1
  Swagger UI         {gateway}/docs
  OpenAPI            {gateway}/openapi.json
  Services           auth {env["LATHE_AUTH_URL"]}, production {env["LATHE_PRODUCTION_URL"]},
                     orders {env["LATHE_ORDERS_URL"]}, analytics {env["LATHE_ANALYTICS_URL"]}
  Metrics            <any of the above>/metrics
  Prometheus         {env.get("PROMETHEUS_URL", "not installed")}   (alerts: /alerts; Grafana: see README)
  Kafka              {env["KAFKA_BOOTSTRAP_SERVERS"]}   (kcat -L -b {env["KAFKA_BOOTSTRAP_SERVERS"]})
  PostgreSQL         {env["DATABASE_URL"]}
  Redis              {env["REDIS_URL"]}
  Admin login        {env["LATHE_ADMIN_USERNAME"]} / {env["LATHE_ADMIN_PASSWORD"]}
  Demo users         {", ".join(demo_users)} / {DEMO_PASSWORD}
  Demo production    {production}
  Demo orders        {orders}
  Demo quality       {quality}
  Analytics          {gateway}/api/v1/analytics/dashboard, .../spc/P03_SENSOR_INSPECTION/offset_mv
  Stack environment  {RUN / "stack.env"}

Following the logs; Ctrl-C stops the stack.
"""
    )


if __name__ == "__main__":
    main()
