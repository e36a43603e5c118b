"""Which source addresses may deliver to a connection (``allowedSourceIps``).

Checked first, before the body's size, the secrets or the signature, against the address the
intake's function URL saw the request come from (``requestContext.http.sourceIp``: the peer of the
TCP connection, never a header such as X-Forwarded-For that a sender writes itself). A connection
without the setting admits any address; one with it admits only those addresses and networks.
A request without a readable source address is not admitted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence


def source_admitted(allowed: Sequence[str] | None, source_ip: str | None) -> bool:
    if allowed is None:
        return True
    if not source_ip:
        return False
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:18.230.43.17 is 18.230.43.17
    return any(address in ipaddress.ip_network(network) for network in allowed)
