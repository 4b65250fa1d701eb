"""The address a request came from, believing X-Forwarded-For only from proxies we operate.

The one place where forwarded headers are read. Servers run with uvicorn's own proxy-header
handling off (``lathe_common.cli``), so ``scope["client"]`` is always the TCP peer; each process
then names its own trusted proxies (``TRUSTED_PROXIES`` setting, empty by default): the gateway
those in front of it (a load balancer), a service the gateway in front of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.requests import HTTPConnection
from starlette.types import Scope

Network = IPv4Network | IPv6Network


def _trusted(address: str, trusted_proxies: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies)


def client_address(connection: HTTPConnection, trusted_proxies: Sequence[Network]) -> str:
    return address_of(connection.scope, trusted_proxies)


def address_of(scope: Scope, trusted_proxies: Sequence[Network]) -> str:
    """The direct peer, unless it is a trusted proxy: then the nearest untrusted hop of X-Forwarded-For.

    Walking from the right matters: the left of the header is whatever the client wrote, and only
    the entries appended by our own proxies can be believed.
    """
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    values = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]
    hops = [hop.strip() for value in values for hop in value.split(",")]
    address = peer
    for hop in reversed([hop for hop in hops if hop]):
        try:
            address = str(ip_address(hop))
        except ValueError:
            break  # garbage written by a client behind a trusted hop: the last good hop is the best we know
        if not _trusted(address, trusted_proxies):
            break
    return address
