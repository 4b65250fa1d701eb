"""Forward a request to the owning service over a pooled connection and stream the answer back."""

from __future__ import annotations

import httpx
from fastapi import Request
from fastapi.responses import Response
from lathe_common import context
from lathe_common.errors import problem
from lathe_common.http import REQUEST_ID_HEADER

# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)


async def forward(client: httpx.AsyncClient, base_url: str, service: str, request: Request) -> Response:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
    headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER]
    headers.append((REQUEST_ID_HEADER, context.request_id.get() or ""))
    if request.client:
        headers.append(("x-forwarded-for", request.client.host))
    url = httpx.URL(base_url + request.url.path, query=request.url.query.encode())
    try:
        upstream = await client.request(request.method, url, headers=headers, content=await request.body())
    except httpx.TimeoutException:
        return problem(504, "upstream_timeout", "Gateway timeout", f"The {service} service did not answer in time.")
    except httpx.TransportError:
        return problem(503, "upstream_unavailable", "Service unavailable", f"The {service} service is unavailable.")
    response_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
    response_headers.pop(REQUEST_ID_HEADER, None)
    return Response(content=upstream.content, status_code=upstream.status_code, headers=response_headers)
