"""The demo's HTTP client: the public API through the gateway, as any client would call it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def exchange(
    method: str, url: str, body: dict | None = None, token: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict, dict[str, str]]:
    """One request: status, JSON body and headers (an ETag for the next action on a document)."""
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local gateway
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def call(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    status, answer, _ = exchange(method, url, body, token)
    return status, answer
