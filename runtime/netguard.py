"""Address classification for the SSRF guard (pure: ``ipaddress`` and ``socket.inet_aton`` only).

``literal_address(host)`` reads every literal form a URL host can take (dotted, decimal, octal,
hex, short ``127.1``, bracketed IPv6, zone ids) the way the C resolver does; ``problem(address)``
says why an address must not be reached, looking through IPv6 forms that embed an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, NAT64 and Teredo) so ``[2002:7f00:1::]`` is as loopback as
``127.0.0.1``. The outbound client (runtime/outbound.py) should classify with ``problem``.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
TEREDO = ipaddress.ip_network("2001::/32")
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


def literal_address(host: str) -> Address | None:
    """The address a literal host names (any form the C resolver accepts), else None."""
    text = host.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text):
        try:
            # inet_aton accepts 2130706433, 0177.0.0.1, 0x7f.1 and 127.1, as getaddrinfo does.
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if any(address in network for network in NAT64) or packed >> 32 == 0:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF) if packed > 1 else None
    return None


def problem(address: Address) -> str | None:
    """Why the runtime must not connect to ``address``, or None for a public address."""
    if address in METADATA:
        return "cloud metadata"
    inner = embedded_ipv4(address)
    if inner is not None:
        found = problem(inner)
        if found:
            return f"{found} (embedded in {address})"
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)
