"""Signing keys: Ed25519, one PEM file per key in ``keys_dir``, the active one named in ``active``.

Created on first start when the directory is empty. Rotation (``python -m lathe_auth rotate-key``)
adds a key and makes it active; older keys stay published in the JWKS so tokens they signed keep
verifying until they expire, and are removed with ``retire-key`` once no live token uses them.
Private keys never leave this directory; it must be a private volume (0700, files 0600).
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK

ACTIVE_FILE = "active"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    def public_jwk(self) -> dict[str, str]:
        raw = self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}


class KeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keys: dict[str, SigningKey] = {}
        self._active: str | None = None
        self._loaded_mtime: float | None = None

    # -- reading; re-read when the directory changed (a rotation by the CLI or another replica)

    def _reload_if_changed(self) -> None:
        mtime = self.directory.stat().st_mtime
        if mtime == self._loaded_mtime:
            return
        keys = {}
        for pem in sorted(self.directory.glob("*.pem")):
            private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
            if isinstance(private, Ed25519PrivateKey):
                keys[pem.stem] = SigningKey(pem.stem, private)
        active_file = self.directory / ACTIVE_FILE
        active = active_file.read_text().strip() if active_file.exists() else None
        self._keys, self._active, self._loaded_mtime = keys, active if active in keys else None, mtime

    def ensure(self) -> None:
        """Create the directory and a first key if there is none."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._reload_if_changed()
        if self._active is None:
            self.rotate()

    def active(self) -> SigningKey:
        self._reload_if_changed()
        if self._active is None:
            raise RuntimeError(f"no active signing key in {self.directory}")
        return self._keys[self._active]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        self._reload_if_changed()
        return {"keys": [key.public_jwk() for key in self._keys.values()]}

    async def key_for(self, kid: str) -> PyJWK | None:
        """``KeySource`` for verifying this service's own tokens without a round trip."""
        self._reload_if_changed()
        key = self._keys.get(kid)
        return PyJWK.from_dict(key.public_jwk()) if key else None

    # -- writing

    def rotate(self) -> str:
        kid = f"{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(self.directory / f"{kid}.pem", pem)
        _write_private(self.directory / ACTIVE_FILE, kid.encode())
        self._loaded_mtime = None
        return kid

    def retire(self, kid: str) -> None:
        self._reload_if_changed()
        if kid == self._active:
            raise ValueError("the active key cannot be retired; rotate first")
        (self.directory / f"{kid}.pem").unlink()
        self._loaded_mtime = None

    def kids(self) -> list[str]:
        self._reload_if_changed()
        return list(self._keys)


def _write_private(path: Path, data: bytes) -> None:
    # Written beside and renamed over, so readers never see half a key.
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
