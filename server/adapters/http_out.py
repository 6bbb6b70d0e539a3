"""The outbound HTTP client for webhooks: it refuses private, loopback and link-local addresses.

A URL's host is resolved here, every resolved address is checked, and the connection goes to a
checked address (never re-resolved), so DNS rebinding cannot slip a private address in between.
TLS still verifies the certificate against the host name. Redirects are not followed.
`CREWCALL_ALLOW_PRIVATE_WEBHOOKS=1` lifts the check (tests, private deployments).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class UnsafeDestination(httpcore.ConnectError):
    """The destination resolves to an address webhooks may not reach."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class CheckedBackend(httpcore.NetworkBackend):
    """A network backend that resolves, checks, then connects to the checked address."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.SyncBackend()

    def resolve(self, host: str, port: int) -> list[str]:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        if not self.allow_private:
            for address in addresses:
                if not is_public(address):
                    raise UnsafeDestination(f"refusing {host}: it resolves to the non-public address {address}")
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise UnsafeDestination("unix sockets are not webhook destinations")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def safe_client(*, allow_private: bool = False, timeout: float = 10.0) -> httpx.Client:
    """A pooled client (keep-alive to busy receivers) whose every connection is checked."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx builds its httpcore pool in the constructor; swap in one with our backend.
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=CheckedBackend(allow_private=allow_private),
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
