"""When a password may cross the network in clear text: the `simple_bind_tls` decision.

A pure function of the policy and the peer's address, so the one rule slapd's `security
simple_bind` expresses is tested without sockets (a real connection in a test always comes
from 127.0.0.1).
"""

from __future__ import annotations

from enum import Enum

from ixidir.server.admission import is_loopback


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
    return peer_host is None or not is_loopback(peer_host)
