"""Pure IP-range arithmetic for resolving anonymous visits to companies."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass


class InvalidNetwork(ValueError):
    pass


_IPV4_MAPPED = 0xFFFF << 32


def address_key(address: str) -> str:
    """A sortable 32-hex-digit key; IPv4 addresses are mapped into IPv6 space."""
    try:
        # The common case, a dotted quad, without building an address object.
        return f"{_IPV4_MAPPED | int.from_bytes(socket.inet_pton(socket.AF_INET, address)):032x}"
    except OSError:
        pass
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    return f"{int(ip):032x}"


@dataclass(frozen=True)
class NetworkBounds:
    network: str
    first_address: str
    last_address: str


def network_bounds(cidr: str) -> NetworkBounds:
    """`203.0.113.7/24` -> the normalised network and its first and last keys."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise InvalidNetwork(f"{cidr!r} is not an IP network in CIDR form") from None
    return NetworkBounds(
        network=str(network),
        first_address=address_key(str(network.network_address)),
        last_address=address_key(str(network.broadcast_address)),
    )
