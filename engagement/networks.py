"""Pure IP-range arithmetic for resolving anonymous visits to companies, and
the one SQL fragment that finds the range holding an address."""

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


def innermost_range_domain_sql(key: str) -> str:
    """SQL for the domain of the innermost IP range holding the address key `key`
    (an SQL expression of `address_key` text), NULL when none does: the one
    lookup of both the tracking statement on PostgreSQL and
    selectors.account_ids_for_addresses.

    Ranges are CIDR blocks, so any two are nested or disjoint, and the
    innermost holding an address starts last (and, of two starting together,
    ends first). The (first_address, last_address) index is walked down from
    the address until a range holds it.
    """
    return f"""(
        SELECT ip_range.domain FROM engagement_iprange AS ip_range
        WHERE ip_range.first_address <= {key} AND ip_range.last_address >= {key}
        ORDER BY ip_range.first_address DESC, ip_range.last_address ASC
        LIMIT 1
    )"""  # noqa: S608 - `key` is an SQL expression of ours, never a value  # nosec B608
