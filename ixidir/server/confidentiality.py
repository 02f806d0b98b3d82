"""When a password may cross the network in clear text: the `simple_bind_tls` decision.

A pure function of the policy and the peer's address, so the one rule slapd's `security
simple_bind` expresses is tested without sockets (a real connection in a test always comes
from 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
from enum import Enum


class SimpleBindTLS(Enum):
    """The `simple_bind_tls` setting of ixidir.toml."""

    OFF_HOST = "off-host"  # TLS unless the client is on this machine (loopback)
    ALWAYS = "always"
    NEVER = "never"  # a data directory from before TLS: its connectors bind in clear text


def needs_tls(policy: SimpleBindTLS, peer_host: str | None) -> bool:
    """Whether a password bind from `peer_host` over a connection without TLS is refused with
    confidentialityRequired (13). An address we cannot read (a UNIX socket, a test transport)
    counts as off-host: refusing is the safe side."""
    if policy is SimpleBindTLS.NEVER:
        return False
    if policy is SimpleBindTLS.ALWAYS:
        return True
    return not is_loopback(peer_host)


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.0.0.1, a dual-stack listener)."""
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
