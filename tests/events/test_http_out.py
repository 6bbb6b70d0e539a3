"""Webhooks never reach private, loopback or link-local addresses unless allowed."""

from __future__ import annotations

import httpx
import pytest

from server.adapters.http_out import UnsafeDestination, is_public, safe_client
from tests.events.conftest import Receiver


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ],
)
def test_private_loopback_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


def test_public_addresses_are_public() -> None:
    assert is_public("93.184.216.34") and is_public("2606:4700::1111")


def test_a_name_resolving_to_loopback_is_refused_before_connecting(receiver: Receiver) -> None:
    url = receiver.url("/never").replace("127.0.0.1", "localhost")
    with safe_client(allow_private=False) as client, pytest.raises(httpx.ConnectError) as info:
        client.post(url, content=b"{}")
    assert isinstance(info.value.__cause__ or info.value, UnsafeDestination | httpx.ConnectError)
    assert "non-public" in str(info.value)
    assert receiver.at("/never") == []


def test_allowing_private_destinations_reaches_loopback(receiver: Receiver) -> None:
    with safe_client(allow_private=True) as client:
        assert client.post(receiver.url("/allowed"), content=b"{}").status_code == 200
    assert len(receiver.at("/allowed")) == 1


def test_registering_a_loopback_url_is_refused_when_private_webhooks_are_off() -> None:
    from tools.webhooks import _private_host

    assert _private_host("127.0.0.1") and _private_host("localhost") and _private_host("[::1]")
    assert not _private_host("hooks.example.com")
