"""`ixidir serve`'s connection limits: from `ixidir.toml` to the protocol, and enough file
descriptors for them."""

from __future__ import annotations

import resource

from ixidir.config import Config
from ixidir.server.admission import ConnectionLimits

# Descriptors a server process needs besides its connections: listeners, the Firebird
# connections and their files, the logs, the snapshot.
SPARE_DESCRIPTORS = 64


def connection_limits(config: Config) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=config.max_connections,
        max_connections_per_address=config.max_connections_per_address,
        idle_timeout=config.idle_timeout,
        max_pending_requests=config.max_pending_requests,
        anonymous_max_pdu_size=config.anonymous_max_pdu_size,
    )


def raise_file_limit(max_connections: int) -> int:
    """Raise the soft RLIMIT_NOFILE (often 1024) towards what `max_connections` needs, up to
    the hard limit, so the limit refuses connections cleanly before accept() fails with EMFILE;
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + SPARE_DESCRIPTORS if max_connections else hard
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft
