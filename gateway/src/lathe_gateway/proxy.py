"""Forward a request to the owning service over a pooled connection and pass its answer back as is.

Bodies are buffered both ways (requests and answers here are JSON of modest size). An upstream's
own errors (4xx/5xx with their problem+json) pass through untouched; only failing to reach it
becomes the gateway's problem: 503 ``upstream_unavailable`` or 504 ``upstream_timeout``.
"""

from __future__ import annotations

import httpx
from fastapi import Request
from fastapi.responses import Response
from lathe_common import context
from lathe_common.errors import problem
from lathe_common.http import REQUEST_ID_HEADER

from lathe_gateway.routes import Upstream

# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded; neither is the length httpx recomputes.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# The gateway states where the request came from; whatever the client claimed is dropped.
CLIENT_CLAIMS = frozenset({"x-forwarded-for", "forwarded", "x-real-ip", REQUEST_ID_HEADER})
# httpx has already decoded a compressed body, so its encoding no longer describes the bytes;
# uvicorn writes its own Date and Server, which would otherwise appear twice.
NOT_PASSED_BACK = HOP_BY_HOP | {"content-encoding", "date", "server", REQUEST_ID_HEADER}


async def forward(client: httpx.AsyncClient, upstream: Upstream, request: Request, client_address: str) -> Response:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | CLIENT_CLAIMS]
    headers.append((REQUEST_ID_HEADER, context.request_id.get() or ""))
    headers.append(("x-forwarded-for", client_address))
    # The raw path keeps percent-escapes (an id containing "%2F" stays one segment upstream).
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    url = httpx.URL(upstream.base_url + raw_path.decode("latin-1"), query=request.url.query.encode())
    try:
        answer = await client.request(
            request.method, url, headers=headers, content=await request.body(), timeout=upstream.timeout
        )
    except httpx.TimeoutException:
        return problem(
            504, "upstream_timeout", "Gateway timeout", f"The {upstream.service} service did not answer in time."
        )
    except httpx.TransportError:
        return problem(
            503, "upstream_unavailable", "Service unavailable", f"The {upstream.service} service is unavailable."
        )
    response = Response(content=answer.content, status_code=answer.status_code)
    # multi_items keeps repeated headers (several Set-Cookie) that a dict would fold into one.
    response.raw_headers.extend(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in answer.headers.multi_items()
        if name.lower() not in NOT_PASSED_BACK
    )
    return response
