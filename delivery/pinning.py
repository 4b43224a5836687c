"""Connections that reach only checked addresses: the host rules applied where the socket is opened.

``check_url`` resolves a host and checks its addresses; if the connection then resolved the name again,
a DNS answer that changed in between (rebinding) could lead it to an internal address. Here the
connection resolves once, checks every address with the same rule (``delivery.hosts.connect_addresses``)
and connects only to one of those. TLS still names the host (SNI, certificate check): only the address
the socket opens to is pinned. A refusal raises ``HostRefused`` out of the request, never a connection.
"""

import socket
from collections.abc import Callable

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

# (scheme, host, port) -> the addresses to connect to, or None to connect as usual (an allowed host).
Guard = Callable[[str, str, int], list[str] | None]


class _PinnedConnection:
    """Mixin for urllib3 connections: open the socket to an address the guard checked."""

    guard: Guard
    scheme: str

    def _new_conn(self) -> socket.socket:
        addresses = self.guard(self.scheme, self.host, self.port or self.default_port)
        if addresses is None:
            return super()._new_conn()
        name, failure = self._dns_host, None
        try:
            for address in addresses:
                self._dns_host = address  # what urllib3 connects to; self.host stays the name TLS checks
                try:
                    return super()._new_conn()
                except NewConnectionError as error:
                    failure = error
        finally:
            self._dns_host = name
        raise failure


def pinned_pool_classes(guard: Guard) -> dict[str, type]:
    """Return urllib3 pool classes (by scheme) whose connections ask guard where they may connect."""
    http = type("PinnedHTTPConnection", (_PinnedConnection, HTTPConnection), {"guard": staticmethod(guard)})
    http.scheme = "http"
    https = type("PinnedHTTPSConnection", (_PinnedConnection, HTTPSConnection), {"guard": staticmethod(guard)})
    https.scheme = "https"
    return {
        "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only to addresses guard allows."""

    def __init__(self, guard: Guard, **kwargs):
        self.guard = guard  # before HTTPAdapter.__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        """Build the pool manager with pinned pools for http and https."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = pinned_pool_classes(self.guard)
