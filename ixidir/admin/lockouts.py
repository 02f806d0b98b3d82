"""Bind lockouts from the command line: `ixidir user unlock`, the state `ixidir user show`
prints, and `ixidir admin reset-password` (directory/lockout.py has the rules).

The commands work offline, on the database: a running server reads the counts at each bind,
so an unlock takes effect at the next bind on every worker and node.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from ixidir.admin.auditing import record
from ixidir.admin.errors import AdminError
from ixidir.admin.runtime import Opened, open_database_of
from ixidir.admin.users import Session, describe
from ixidir.admin.voicemail import user_dn
from ixidir.directory.lockout import Failures, Throttle, account, is_locked
from ixidir.directory.requests import Modification, ModifyRequest, ModOp
from ixidir.errors import LDAPError
from ixidir.server.audit import MASK, Action
from ixidir.storage.bindfailures import FirebirdBindFailures

# 24 URL-safe characters (144 random bits): typed once into a password manager.
NEW_PASSWORD_BYTES = 18


@dataclass(frozen=True, slots=True)
class BindState:
    """One account's failed binds as `ixidir user show` reports them."""

    dn: str
    failures: Failures
    throttle: Throttle
    is_locked: bool

    def describe(self) -> str:
        if not self.throttle.is_on:
            return "lockout off (ixiBindMaxFailures is 0)"
        failures = self.failures
        if self.is_locked and failures.locked_at is not None:
            lasting = (
                f"for {self.throttle.lockout} s" if self.throttle.lockout else "until unlocked"
            )
            return f"locked since {failures.locked_at:%Y-%m-%d %H:%M:%S} UTC, {lasting}"
        if failures.count and failures.locked_at is None and failures.window_start is not None:
            return (
                f"not locked; {failures.count} of {self.throttle.max_failures} wrong passwords "
                f"since {failures.window_start:%Y-%m-%d %H:%M:%S} UTC"
            )
        return "not locked"


@contextmanager
def bind_failures(data: Opened) -> Iterator[FirebirdBindFailures]:
    store = FirebirdBindFailures(open_database_of(data.data_dir, data.config))
    try:
        yield store
    finally:
        store.close()


def bind_state(session: Session, data: Opened, dn: str, *, now: datetime) -> BindState:
    throttle = session.directory.bind_throttles().account
    with bind_failures(data) as store:
        failures = store.failures(account(_key(session, dn)))
    return BindState(dn, failures, throttle, is_locked(failures, throttle, now))


def unlock(session: Session, data: Opened, user: str) -> tuple[str, bool]:
    """Lift the account's lock and forget its failed binds: (its DN, whether any were counted)."""
    dn = user_dn(session, user)
    with bind_failures(data) as store:
        had = store.clear(account(_key(session, dn)))
    if had:
        record(session.audit, session.principal, Action("bindUnlock", dn))
    return dn, had


def reset_admin_password(session: Session, data: Opened) -> str:
    """A new random password for the administrator, stored hashed, its lock lifted: returned
    (to be printed once), never written anywhere else."""
    dn = session.principal.dn
    password = secrets.token_urlsafe(NEW_PASSWORD_BYTES)
    change = Modification(ModOp.REPLACE, "userPassword", (password.encode("ascii"),))
    try:
        session.directory.modify(session.principal, ModifyRequest(dn, (change,)))
    except LDAPError as error:
        raise AdminError(f"cannot set the password of {dn}: {describe(error)}") from None
    with bind_failures(data) as store:
        store.clear(account(_key(session, dn)))
    record(
        session.audit,
        session.principal,
        Action("adminPasswordReset", dn, (("userPassword", MASK),)),
    )
    return password


def _key(session: Session, dn: str) -> str:
    try:
        return session.directory.state.parse_dn(dn)[1]
    except LDAPError as error:
        raise AdminError(f"{dn!r}: {describe(error)}") from None
