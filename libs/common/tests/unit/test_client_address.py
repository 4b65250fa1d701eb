"""Client address with and without trusted proxies, and the service setting that lists them."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from lathe_common.client_address import client_address
from lathe_common.settings import ServiceSettings, settings_config
from pydantic import ValidationError
from starlette.requests import Request

PROXIES = [ip_network("10.0.0.1"), ip_network("10.1.0.0/16")]


def _request(peer: str | None, *forwarded_for: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded_for],
            "client": (peer, 40000) if peer else None,
        }
    )


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address(_request("198.51.100.7", "203.0.113.1"), []) == "198.51.100.7"


def test_an_untrusted_peer_cannot_claim_another_address():
    assert client_address(_request("198.51.100.7", "203.0.113.1"), PROXIES) == "198.51.100.7"


def test_a_trusted_peer_names_the_client():
    assert client_address(_request("10.0.0.1", "203.0.113.1"), PROXIES) == "203.0.113.1"


def test_the_nearest_untrusted_hop_wins_over_what_the_client_wrote():
    # The client wrote "1.2.3.4"; our proxies (10.1.x.x, then 10.0.0.1) appended what they saw.
    request = _request("10.0.0.1", "1.2.3.4, 203.0.113.1, 10.1.2.3")
    assert client_address(request, PROXIES) == "203.0.113.1"


def test_several_headers_form_one_list():
    assert client_address(_request("10.0.0.1", "1.2.3.4", "203.0.113.1"), PROXIES) == "203.0.113.1"


def test_only_trusted_hops_means_the_leftmost():
    assert client_address(_request("10.0.0.1", "10.1.0.9"), PROXIES) == "10.1.0.9"


def test_garbage_stops_at_the_last_good_hop():
    assert client_address(_request("10.0.0.1", "not-an-ip, 10.1.0.9"), PROXIES) == "10.1.0.9"


def test_a_trusted_peer_without_the_header_is_the_client():
    assert client_address(_request("10.0.0.1"), PROXIES) == "10.0.0.1"


def test_no_peer_at_all():
    assert client_address(_request(None), PROXIES) == "unknown"


def test_ipv6():
    proxies = [ip_network("fd00::/8")]
    assert client_address(_request("fd00::1", "2001:db8::5"), proxies) == "2001:db8::5"


class ExampleSettings(ServiceSettings):
    model_config = settings_config("LATHE_EXAMPLE_")


def test_services_trust_no_proxy_unless_told(monkeypatch):
    monkeypatch.delenv("LATHE_EXAMPLE_TRUSTED_PROXIES", raising=False)
    assert ExampleSettings().trusted_proxies == []


def test_service_settings_accept_comma_separated_and_json_lists(monkeypatch):
    monkeypatch.setenv("LATHE_EXAMPLE_TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16")
    assert ExampleSettings().trusted_proxies == PROXIES
    monkeypatch.setenv("LATHE_EXAMPLE_TRUSTED_PROXIES", '["10.0.0.1"]')
    assert ExampleSettings().trusted_proxies == [ip_network("10.0.0.1")]


def test_a_mistyped_proxy_stops_the_start(monkeypatch):
    monkeypatch.setenv("LATHE_EXAMPLE_TRUSTED_PROXIES", "10.0.0.300")
    with pytest.raises(ValidationError):
        ExampleSettings()
