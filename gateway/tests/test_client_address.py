"""The gateway's trusted proxies and CORS origins settings (the address logic is lathe_common.client_address)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from lathe_gateway.settings import GatewaySettings
from pydantic import ValidationError

PROXIES = [ip_network("10.0.0.1"), ip_network("10.1.0.0/16")]


def test_the_gateway_trusts_no_proxy_by_default(monkeypatch):
    monkeypatch.delenv("LATHE_GATEWAY_TRUSTED_PROXIES", raising=False)
    assert GatewaySettings().trusted_proxies == []


def test_settings_accept_comma_separated_lists(monkeypatch):
    monkeypatch.setenv("LATHE_GATEWAY_TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16")
    monkeypatch.setenv("LATHE_GATEWAY_CORS_ORIGINS", "https://a.example,https://b.example")
    config = GatewaySettings()
    assert config.trusted_proxies == PROXIES
    assert config.cors_origins == ["https://a.example", "https://b.example"]


def test_settings_accept_json_lists(monkeypatch):
    monkeypatch.setenv("LATHE_GATEWAY_TRUSTED_PROXIES", '["10.0.0.1"]')
    assert GatewaySettings().trusted_proxies == [ip_network("10.0.0.1")]


def test_a_mistyped_proxy_stops_the_start(monkeypatch):
    monkeypatch.setenv("LATHE_GATEWAY_TRUSTED_PROXIES", "10.0.0.300")
    with pytest.raises(ValidationError):
        GatewaySettings()
