"""/docs works without the internet: every file it needs is served by the gateway itself.

The pages are crawled the way a browser would load them (stylesheets, scripts, icons, CSS url()s),
and each reference must stay on the gateway; so must source maps, which only developer tools load
(the package ships none, so they are not fetched). The running stack's /docs in a real,
offline browser is tests/test_docs_in_offline_browser.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.openapi.docs import get_swagger_ui_html

GATEWAY = "http://gateway.test"  # the base URL of the in-process client (conftest.start_gateway)
DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")
# What a browser fetches from a stylesheet or a script on its own: url(), @import, source maps.
CSS_REFERENCES = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")
SOURCE_MAP = re.compile(r"""[#@]\s*sourceMappingURL=(\S+?)\s*(?:\*/)?\s*$""", re.MULTILINE)


class _LoadedReferences(HTMLParser):
    """The URLs an HTML page makes a browser load, and the text of its inline scripts and styles."""

    LOADING_ATTRIBUTES = frozenset({"src", "href", "srcset", "poster", "data", "action", "formaction"})

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline: list[str] = []
        self._in_inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in self.LOADING_ATTRIBUTES and value:
                urls = [part.split()[0] for part in value.split(",") if part.strip()] if name == "srcset" else [value]
                self.references.extend(urls)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.references.append((values.get("content") or "").partition("url=")[2])
        self._in_inline = tag in ("script", "style") and "src" not in values

    def handle_endtag(self, tag: str) -> None:
        self._in_inline = False

    def handle_data(self, data: str) -> None:
        if self._in_inline:
            self.inline.append(data)


def source_maps_of(response: httpx.Response) -> list[str]:
    content_type = response.headers.get("content-type", "")
    return SOURCE_MAP.findall(response.text) if "css" in content_type or "javascript" in content_type else []


def references_of(response: httpx.Response) -> list[str]:
    """What a browser loads because of this response: URLs as written in it."""
    content_type = response.headers.get("content-type", "")
    text = response.text
    if "html" in content_type:
        page = _LoadedReferences()
        page.feed(text)
        # A script or style inline may load anything it names; they must name no other host at all.
        inline_urls = [url for block in page.inline for url in ABSOLUTE_URL.findall(block)]
        return [*page.references, *inline_urls]
    if "css" in content_type:
        return [url or imported for url, imported in CSS_REFERENCES.findall(text)]
    return []


def is_elsewhere(reference: str, base: str) -> bool:
    target = urlsplit(urljoin(base, reference))
    return target.scheme not in ("http", "https") or target.netloc != urlsplit(GATEWAY).netloc


async def test_docs_and_everything_they_load_come_from_the_gateway(start_gateway):
    gateway = await start_gateway()
    pending = [f"{GATEWAY}{DOCS_PATH}", f"{GATEWAY}{OAUTH2_REDIRECT_PATH}"]
    fetched: dict[str, httpx.Response] = {}
    elsewhere: list[tuple[str, str]] = []
    while pending:
        url = pending.pop()
        if url in fetched:
            continue
        response = await gateway.get(url)  # no token: all of it is public
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
        fetched[url] = response
        for reference in references_of(response):
            if reference.startswith("data:"):  # inline: nothing to load
                continue
            if is_elsewhere(reference, url):
                elsewhere.append((url, reference))
            else:
                pending.append(urljoin(url, reference).split("#")[0])
        elsewhere.extend((url, source_map) for source_map in source_maps_of(response) if is_elsewhere(source_map, url))

    assert elsewhere == []
    loaded = {urlsplit(url).path for url in fetched}
    assert {
        f"{ASSETS_PATH}/swagger-ui-bundle.js",
        f"{ASSETS_PATH}/swagger-ui.css",
        f"{ASSETS_PATH}/favicon-32x32.png",
    } <= loaded
    # The first page's own configuration: the document from the gateway, no online validator.
    docs = fetched[f"{GATEWAY}{DOCS_PATH}"].text
    assert "url: '/openapi.json'" in docs
    assert '"validatorUrl": null' in docs


def test_the_crawl_finds_a_cdn_reference():
    """The check above would see the page as it was: Swagger UI from a CDN, FastAPI's favicon."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="t")
    response = httpx.Response(200, headers={"content-type": "text/html"}, content=page.body)
    external = [ref for ref in references_of(response) if is_elsewhere(ref, f"{GATEWAY}{DOCS_PATH}")]
    assert len(external) == 3 and all(urlsplit(ref).scheme == "https" for ref in external)


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ],
)
async def test_assets_are_cached_and_revalidated(start_gateway, name, media_type):
    gateway = await start_gateway()

    first = await gateway.get(f"{ASSETS_PATH}/{name}")
    again = await gateway.get(f"{ASSETS_PATH}/{name}", headers={"If-None-Match": first.headers["etag"]})
    head = await gateway.head(f"{ASSETS_PATH}/{name}")

    assert first.status_code == 200 and first.headers["content-type"].startswith(media_type)
    assert first.headers["cache-control"] == "public, max-age=86400"
    assert len(first.content) == int(first.headers["content-length"]) > 0
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == first.headers["content-length"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{ASSETS_PATH}/swagger-ui.js", 404),  # public, but only the files Swagger UI needs
        ("GET", f"{ASSETS_PATH}/__init__.py", 404),  # nothing else of the package
        ("POST", f"{ASSETS_PATH}/swagger-ui.css", 401),  # reads only
        ("GET", f"{ASSETS_PATH}/x/swagger-ui.css", 401),  # one level only
        ("GET", ASSETS_PATH, 401),
    ],
)
async def test_assets_directory_serves_its_files_and_nothing_else(start_gateway, code_of, method, path, status):
    gateway = await start_gateway()

    response = await gateway.request(method, path)

    assert response.status_code == status
    assert code_of(response) == ("route_not_found" if status == 404 else "missing_token")
