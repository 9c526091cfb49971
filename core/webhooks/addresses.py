"""Which network addresses webhooks may reach (SSRF).

By default only public addresses: no loopback, private, link-local (cloud metadata),
shared, reserved or multicast ones, unless ``TALLY_WEBHOOK_ALLOWED_NETWORKS`` lists
them. Checked twice: when an endpoint's URL is set (every address its host
resolves to) and when a delivery connects (the address actually connected to, so a
name that resolves elsewhere later, DNS rebinding, gains nothing).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(OSError):
    """A delivery reached an address webhooks may not target."""


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def address_allowed(address: Address) -> bool:
    """Whether a webhook may be sent to ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    allowed = _networks(tuple(settings.TALLY_WEBHOOK_ALLOWED_NETWORKS))
    if any(address in network for network in allowed):
        return True
    return address.is_global and not address.is_multicast


def blocked_address(host: str) -> str | None:
    """The first address of ``host`` a webhook may not target, or None.

    A name that does not resolve now passes: it reaches nothing yet, and the check
    on connecting still applies when it does.
    """
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not address_allowed(address):
            return str(address)
    return None


def _check_peer(sock: socket.socket) -> None:
    peer = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
    if not address_allowed(peer):
        sock.close()
        raise BlockedAddress(
            f"{peer} is a loopback, private or reserved address, which webhooks may "
            "not target (setting TALLY_WEBHOOK_ALLOWED_NETWORKS)."
        )


class _OneWrite:
    """Writes a request's head and its body together: one segment, not two.

    urllib3 writes the headers, then the body. Two writes wake the receiver twice
    (it reads the head, then waits for the body), and on a busy machine each write
    may hand the CPU to it: one write is one wake-up on each side.
    """

    def request(self, method, url, body=None, headers=None, **kwargs) -> None:
        self._held = b"" if isinstance(body, bytes) and body else None
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)
        except BaseException:
            self._held = None  # the connection is dropped: nothing more to write
            raise
        held, self._held = self._held, None
        if held:  # no body came after all
            super().send(held)

    def send(self, data) -> None:
        held = getattr(self, "_held", None)
        if held is not None and isinstance(data, bytes):
            if not held:  # the head: kept for the body
                self._held = data
                return
            data, self._held = held + data, None
        super().send(data)


class _GuardedHTTPConnection(_OneWrite, HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPSConnection(_OneWrite, HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


# For the pool manager of core.webhooks.transport.
GUARDED_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
