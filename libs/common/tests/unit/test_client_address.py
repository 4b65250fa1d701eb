"""Client address with and without trusted proxies, and the service setting that lists them."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from lathe_common.client_address import address_of, client_address
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


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        # Garbage between good hops: the walk from the right stops at it, at the last good hop.
        (["203.0.113.1, garbage, 10.1.0.9"], "10.1.0.9"),
        (["203.0.113.1, 10.1.0.300, 10.1.0.9"], "10.1.0.9"),
        (["203.0.113.1, [2001:db8::1]:443, 10.1.0.9"], "10.1.0.9"),
        (["203.0.113.1, 203.0.113.2:8080"], "10.0.0.1"),  # a port: garbage next to our own proxy
        (["garbage"], "10.0.0.1"),
        (["unknown, 10.1.0.9"], "10.1.0.9"),
        # Empty hops and blanks are skipped, not taken for garbage.
        (["203.0.113.1,, 10.1.0.9,"], "203.0.113.1"),
        (["  203.0.113.1  ,  "], "203.0.113.1"),
        ([""], "10.0.0.1"),
        ([" , ,"], "10.0.0.1"),
        # An untrusted hop stops the walk even with trusted hops written to its left.
        (["10.1.0.7, 203.0.113.1"], "203.0.113.1"),
        (["10.1.0.7, 203.0.113.1, 10.1.0.9"], "203.0.113.1"),
        # Several headers form one list in their order, the last header nearest to us.
        (["1.2.3.4", "203.0.113.1, 10.1.2.3", "10.1.0.9"], "203.0.113.1"),
        (["203.0.113.1", "garbage", "10.1.0.9"], "10.1.0.9"),
        (["203.0.113.1", ""], "203.0.113.1"),
        # IPv6 hops are normalised (what the lockout and the limits key on is one spelling per address).
        (["2001:DB8:0:0::5"], "2001:db8::5"),
        (["2001:db8::5, 10.1.0.9"], "2001:db8::5"),
    ],
)
def test_forwarded_for_behind_a_trusted_proxy(forwarded_for, expected):
    assert client_address(_request("10.0.0.1", *forwarded_for), PROXIES) == expected


def test_other_forwarding_headers_are_not_believed():
    request = Request(
        {
            "type": "http",
            "headers": [(b"x-real-ip", b"203.0.113.9"), (b"forwarded", b"for=203.0.113.8"), (b"x-forwarded-for", b"")],
            "client": ("10.0.0.1", 1),
        }
    )
    assert client_address(request, PROXIES) == "10.0.0.1"


def test_mixed_ipv4_and_ipv6_proxies():
    proxies = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]
    assert client_address(_request("fd00::1", "2001:db8::7, 10.2.3.4, fd00::2"), proxies) == "2001:db8::7"
    assert client_address(_request("10.0.0.1", "2001:db8::7, fd00::9"), proxies) == "2001:db8::7"
    assert client_address(_request("2001:db8::1", "203.0.113.1"), proxies) == "2001:db8::1"


def test_a_peer_that_is_not_an_address_is_never_trusted():
    # e.g. a test client's or a unix socket's peer name: reported as it is, the header ignored.
    assert client_address(_request("testclient", "203.0.113.1"), PROXIES) == "testclient"


def test_a_trusted_network_trusts_each_of_its_addresses_and_no_other():
    assert client_address(_request("10.1.255.255", "203.0.113.1"), PROXIES) == "203.0.113.1"
    assert client_address(_request("10.2.0.0", "203.0.113.1"), PROXIES) == "10.2.0.0"
    assert client_address(_request("10.0.0.2", "203.0.113.1"), PROXIES) == "10.0.0.2"


def test_without_trusted_proxies_even_a_private_peer_is_the_client():
    assert client_address(_request("10.0.0.1", "203.0.113.1"), []) == "10.0.0.1"
    assert client_address(_request(None, "203.0.113.1"), []) == "unknown"


def test_the_address_of_a_bare_scope():
    scope = {"type": "http", "headers": [(b"x-forwarded-for", b"203.0.113.1")], "client": ("10.0.0.1", 1)}
    assert address_of(scope, PROXIES) == "203.0.113.1"


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
