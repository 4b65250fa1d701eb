"""A test's own production line for the quality tests (nonconformances, signatures, holds): three
processes (marking; inspection, with offset limits; packing), a model, LOTs and units, staff, and a
quality engineer who signs with their password through auth, as a client would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

from .conftest import OFFSET_LIMITS, Accounts, Catalog, bearer

REASON = "solder bridge on U3"
OUT_OF_LIMIT = {"offset_mv": 7.5}


@dataclass
class Signer:
    username: str
    password: str
    headers: dict[str, str]


@dataclass
class QualityLine:
    gateway: httpx.AsyncClient
    accounts: Accounts
    engineer: dict[str, str]
    operator: dict[str, str]
    quality: Signer
    processes: list[str] = field(default_factory=list)
    model: str = ""

    @classmethod
    async def build(cls, gateway: httpx.AsyncClient, accounts: Accounts) -> QualityLine:
        line = cls(
            gateway,
            accounts,
            bearer(await accounts.token_for("engineer")),
            bearer(await accounts.token_for("operator")),
            await signer(accounts, "quality"),
        )
        catalog = Catalog(gateway, line.engineer)
        line.processes = [
            await catalog.process(name="Marking"),
            await catalog.process(OFFSET_LIMITS, name="Inspection"),
            await catalog.process(name="Packing"),
        ]
        line.model = await catalog.model(line.processes, prefix="QA")
        return line

    @property
    def marking(self) -> str:
        return self.processes[0]

    @property
    def inspection(self) -> str:
        return self.processes[1]

    @property
    def packing(self) -> str:
        return self.processes[2]

    async def lot(self, n: int) -> tuple[dict, list[str]]:
        lot = await self.gateway.post(
            "/api/v1/lots", json={"model_code": self.model, "target_quantity": n}, headers=self.engineer
        )
        assert lot.status_code == 201, lot.text
        made = await self.gateway.post(
            f"/api/v1/lots/{lot.json()['id']}/serials", json={"count": n}, headers=self.engineer
        )
        assert made.status_code == 201, made.text
        return lot.json(), [s["serial_number"] for s in made.json()["items"]]

    async def step(self, serial: str, process: str, **body) -> httpx.Response:
        return await self.gateway.post(
            "/api/v1/process-data",
            json={"serial_number": serial, "process_code": process, "operator": "kim", **body},
            headers=self.operator,
        )

    async def fail_inspection(self, serial: str, *, marked: bool = True) -> dict:
        """Marks the unit (unless it is at inspection already) and fails its inspection."""
        if marked:
            assert (await self.step(serial, self.marking)).status_code == 201
        failed = await self.step(serial, self.inspection, measurements=OUT_OF_LIMIT, defects=["BRIDGE"])
        assert failed.status_code == 201, failed.text
        assert failed.json()["serial_status"] == "FAILED"
        return failed.json()

    async def unit(self, serial: str) -> dict:
        return (await self.gateway.get(f"/api/v1/serials/{serial}", headers=self.engineer)).json()

    async def ncrs_of(self, serial: str) -> list[dict]:
        """The unit's NCRs, newest first."""
        found = await self.gateway.get(
            "/api/v1/nonconformances", params={"serial_number": serial}, headers=self.engineer
        )
        assert found.status_code == 200, found.text
        return found.json()["items"]

    async def open_ncr(self, serial: str) -> dict:
        newest = (await self.ncrs_of(serial))[0]
        assert newest["status"] == "OPEN", newest
        return newest

    async def sign(
        self,
        record: str,
        *,
        reason: str = REASON,
        meaning: str = "approved",
        who: Signer | None = None,
        password: str | None = None,
    ) -> httpx.Response:
        who = who or self.quality
        return await self.gateway.post(
            "/api/v1/auth/signatures",
            json={"password": password or who.password, "record": record, "meaning": meaning, "reason": reason},
            headers=who.headers,
        )

    async def signature(self, record: str, **kw) -> str:
        signed = await self.sign(record, **kw)
        assert signed.status_code == 201, signed.text
        return signed.json()["signature"]

    async def dispose(
        self,
        ncr_id: str,
        disposition: str,
        *,
        reason: str = REASON,
        meaning: str = "approved",
        signature: str | None = None,
        who: Signer | None = None,
    ) -> httpx.Response:
        """Signs the disposition (unless given a signature) and posts it."""
        who = who or self.quality
        record = f"nonconformance/{ncr_id}/disposition/{disposition}"
        token = signature or await self.signature(record, reason=reason, meaning=meaning, who=who)
        return await self.gateway.post(
            f"/api/v1/nonconformances/{ncr_id}/disposition",
            json={"disposition": disposition, "reason": reason, "meaning": meaning, "signature": token},
            headers=who.headers,
        )


async def signer(accounts: Accounts, role: str) -> Signer:
    user = await accounts.create_user(role, password=f"Sign-{uuid.uuid4().hex[:6]}-Q1")
    token = (await accounts.login(user["username"], user["password"]))["access_token"]
    return Signer(user["username"], user["password"], bearer(token))
