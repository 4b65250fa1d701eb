"""The gateway's /docs in a real browser that reaches nothing but loopback, as in a plant offline.

Debian's headless Chromium loads the running stack's /docs with every other host unreachable (names
do not resolve, and any other address goes to a proxy that refuses connections). Swagger UI must
render the operations of the merged document, and every request the page itself made (its
initiator is the gateway; the browser's own background traffic has none) must have gone to the
gateway. Chromium's net log records those requests.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.e2e

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Operations of two services that /docs must show; the whole merged document is checked too.
KNOWN_OPERATIONS = {("get", "/api/v1/lots"), ("post", "/api/v1/auth/login")}
# A service restarted by someone else is left out of the merged document for a few seconds.
DOCUMENT_WAIT_SECONDS = 30
BROWSER_TIMEOUT_SECONDS = 120
# Swagger UI's summary of an operation: <div class="opblock opblock-get" id="operations-..."> ...
# <span class="opblock-summary-path" data-path="/api/v1/lots">, the first path inside it.
RENDERED_OPERATION = re.compile(r'<div class="opblock opblock-(\w+)[^"]*" id="operations-[^"]*">.*?data-path="([^"]*)"')
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}  # the names the browser below may resolve


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: `make deps` installs it (the Debian package chromium)")
    return path


@pytest.fixture
def refusing_proxy() -> Iterator[str]:
    """A loopback address that refuses connections: the browser's proxy for every other host."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, never listening: held so that nothing else takes the port
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def operations_of(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


def merged_document(gateway_url: str) -> dict:
    """The gateway's /openapi.json once it holds the known operations (every service answered)."""
    deadline = time.monotonic() + DOCUMENT_WAIT_SECONDS
    while True:
        try:
            document = httpx.get(f"{gateway_url}/openapi.json", timeout=10).raise_for_status().json()
            problem = f"lacks {KNOWN_OPERATIONS - operations_of(document)}: {document['info'].get('description')}"
            if KNOWN_OPERATIONS <= operations_of(document):
                return document
        except httpx.HTTPError as error:  # the gateway itself restarting
            problem = f"unavailable: {error!r}"
        if time.monotonic() > deadline:
            pytest.fail(f"the stack's merged OpenAPI document {problem}")
        time.sleep(1)


def open_offline(url: str, *, proxy: str, profile: Path, net_log: Path) -> str:
    """The DOM of ``url`` once Swagger UI has rendered, from Chromium with no network beyond loopback."""
    command = [
        chromium(),
        "--headless=new",
        "--no-sandbox",  # the tests may run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        f"--proxy-server=http://{proxy}",  # loopback is never proxied; every other address is refused
        f"--log-net-log={net_log}",
        # Swagger UI draws only what its window shows (the operations below it as one scrolls): a
        # window tall enough for every operation drawn closed (some 50 pixels each) draws them all.
        "--window-size=1280,30000",
        # Virtual time runs on while no request is pending: 15 s of it let Swagger UI load and render.
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(  # noqa: S603 - a fixed command line
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_SECONDS, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def page_requests(net_log: Path, origin: str) -> list[str]:
    """URLs of the requests that a page of ``origin`` made (the browser's own carry no initiator)."""
    text = net_log.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut off at exit lacks its closing brackets
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and event.get("params", {}).get("initiator") == origin
    ]


def test_docs_render_the_operations_in_a_browser_without_internet(gateway_url, refusing_proxy, tmp_path):
    gateway = urlsplit(gateway_url)
    assert gateway.hostname in LOOPBACK_HOSTS, f"the browser below reaches only loopback, not {gateway_url}"
    expected = operations_of(merged_document(gateway_url))
    net_log = tmp_path / "net-log.json"

    dom = open_offline(f"{gateway_url}/docs", proxy=refusing_proxy, profile=tmp_path / "profile", net_log=net_log)

    rendered = {(method, html.unescape(path)) for method, path in RENDERED_OPERATION.findall(dom)}
    assert rendered, f"Swagger UI rendered no operation; the page was:\n{dom[:2000]}"
    assert KNOWN_OPERATIONS <= rendered
    assert expected <= rendered, f"not rendered: {sorted(expected - rendered)}"
    requested = page_requests(net_log, f"{gateway.scheme}://{gateway.netloc}")
    assert any(urlsplit(url).path.endswith(".js") for url in requested), requested  # the log was read
    elsewhere = [url for url in requested if urlsplit(url).netloc != gateway.netloc]
    assert elsewhere == [], f"the page asked other hosts for {elsewhere}"
