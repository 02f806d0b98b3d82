"""A simple bind's steps, sans-IO: the one bind sequence the LDAP session and the web login share.

The directory decides (`begin_bind`, `finish_bind`); the PBKDF2 check runs off the loop
(`Compute`), and a password already refused against the same hashes waits instead of hashing
again (`Delay`). Throttling or lockout of binds belongs here, so both front ends get it.
"""

from __future__ import annotations

from collections.abc import Generator

from ixidir.directory.ops.bind import BindCheck
from ixidir.directory.requests import Principal
from ixidir.server.facade import Directory
from ixidir.server.pending import Compute, Delay, Pending

# Seconds before a remembered wrong password is refused again: about one PBKDF2 verification
# (~270 ms), the pace a client retrying it had before the refusal was remembered.
REPEATED_FAILURE_DELAY = 0.25


def bind_steps(
    directory: Directory, dn: str, password: bytes
) -> Generator[Pending, None, Principal]:
    """Yield the jobs a bind waits for; return the principal (or raise the bind's LDAPError)."""
    started = directory.begin_bind(dn, password)
    if isinstance(started, BindCheck) and started.is_known_wrong:
        yield Pending(Delay(REPEATED_FAILURE_DELAY))
        return directory.finish_bind(started, None)
    if isinstance(started, BindCheck):
        verified = Pending(Compute(started.verify))
        yield verified
        matched = verified.outcome()
        return directory.finish_bind(started, matched if isinstance(matched, bytes) else None)
    return started
