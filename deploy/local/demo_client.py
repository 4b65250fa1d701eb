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


class Demo:
    """The demo's calls through the gateway, each failing the demo with what was answered."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway

    def login(self, username: str, password: str) -> str:
        status, tokens = call("POST", f"{self.gateway}/api/v1/auth/login", {"username": username, "password": password})
        if status != 200:
            raise SystemExit(f"demo: login of {username} failed ({status}): {tokens}")
        return tokens["access_token"]

    def post(self, path: str, body: dict, token: str, expect: int = 201) -> dict:
        status, answer = call("POST", f"{self.gateway}{path}", body, token)
        if status != expect:
            raise SystemExit(f"demo: POST {path} failed ({status}): {answer}")
        return answer

    def get(self, path: str, token: str) -> dict:
        status, answer = call("GET", f"{self.gateway}{path}", None, token)
        if status != 200:
            raise SystemExit(f"demo: GET {path} failed ({status}): {answer}")
        return answer

    def act(self, path: str, action: str, token: str, body: dict | None = None) -> dict:
        """An action on a document, with the ETag of the document as just read."""
        _, _, headers = exchange("GET", f"{self.gateway}{path}", None, token)
        status, answer, _ = exchange(
            "POST", f"{self.gateway}{path}/{action}", body, token, {"If-Match": headers["etag"]}
        )
        if status != 200:
            raise SystemExit(f"demo: {action} of {path} failed ({status}): {answer}")
        return answer
