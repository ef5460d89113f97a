"""Pure IP-range arithmetic for resolving anonymous visits to companies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class InvalidNetwork(ValueError):
    pass


def address_key(address: str) -> str:
    """A sortable 32-hex-digit key; IPv4 addresses are mapped into IPv6 space."""
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


def narrowest_ranges(
    addresses: Iterable[str], ranges: Iterable[tuple[str, str, str]]
) -> Mapping[str, str]:
    """address -> domain of the narrowest (first, last, domain) range holding it."""
    candidates = list(ranges)
    found: dict[str, str] = {}
    for address in addresses:
        key = address_key(address)
        holding = [r for r in candidates if r[0] <= key <= r[1]]
        if holding:
            # The narrowest range is the most specific: a subsidiary inside a parent's block.
            narrowest = min(holding, key=lambda r: int(r[1], 16) - int(r[0], 16))
            found[address] = narrowest[2]
    return found
