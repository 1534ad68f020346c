"""Who is on the other end: the client's address, believing `X-Forwarded-For` only from
proxies we trust (the gateway, a load balancer; single addresses or CIDR ranges), and then only
up to the first hop, from the right, that is not itself trusted. Shared by the gateway and every
service, so both agree on who the client is."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_address, ip_network

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (names in ASGI scopes are lower case)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class ClientAddress:
    """The client's address. `X-Forwarded-For` is believed only when the peer is a trusted proxy,
    and then only up to the first hop (from the right) that is not itself trusted."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._networks = tuple(ip_network(entry, strict=False) for entry in trusted_proxies)
        self._trusted: dict[str, bool] = {}

    def __call__(self, scope: Scope) -> str:
        address = peer(scope)
        if not self._networks or not self.is_trusted(address):
            return address
        forwarded = _forwarded_for(scope)
        if not forwarded:
            return address
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else address

    def forwarded_for(self, scope: Scope) -> str:
        """The X-Forwarded-For to send upstream: the trusted chain so far plus the peer."""
        address = peer(scope)
        if self._networks and self.is_trusted(address):
            forwarded = _forwarded_for(scope)
            if forwarded:
                return f"{forwarded}, {address}"
        return address

    def forwarded_proto(self, scope: Scope) -> str:
        if self._networks and self.is_trusted(peer(scope)):
            proto = header(scope, b"x-forwarded-proto")
            if proto in (b"http", b"https"):
                return proto.decode()
        return str(scope.get("scheme", "http"))

    def is_trusted(self, address: str) -> bool:
        trusted = self._trusted.get(address)
        if trusted is None:
            try:
                parsed = ip_address(address)
            except ValueError:
                trusted = False
            else:
                trusted = any(parsed in network for network in self._networks)
            if len(self._trusted) < 10_000:
                self._trusted[address] = trusted
        return trusted


def _forwarded_for(scope: Scope) -> str:
    """Every X-Forwarded-For line in order, as one list (RFC 9110 5.3)."""
    return ", ".join(
        value.decode("latin-1") for key, value in scope["headers"] if key == b"x-forwarded-for"
    )


def peer(scope: Scope) -> str:
    """The address of the other end of the connection."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
