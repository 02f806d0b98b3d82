"""A simple bind's steps, sans-IO: the one bind sequence the LDAP session and the web login share.

The directory decides (`begin_bind`, `finish_bind`); with a guard, the failure counts are read
before any hash, a failure is counted and a lock refuses without hashing (bindguard.py); a
stretched key is checked off the loop (`Compute`), and a password already refused against the
same hashes waits instead of hashing again (`Delay`).
"""

from __future__ import annotations

from collections.abc import Generator

from ixidir.directory.requests import Principal
from ixidir.server.bindguard import BindGuard, Caller, guarded_bind, plain_bind
from ixidir.server.facade import Directory
from ixidir.server.pending import Pending


def bind_steps(
    directory: Directory,
    dn: str,
    password: bytes,
    *,
    guard: BindGuard | None,
    caller: Caller,
) -> Generator[Pending, None, Principal]:
    """Yield the jobs a bind waits for; return the principal (or raise the bind's LDAPError).
    Without a guard (a server that counts nothing, tests) binds are not throttled."""
    if guard is None:
        return (yield from plain_bind(directory, dn, password))
    return (yield from guarded_bind(directory, guard, caller, dn, password))
