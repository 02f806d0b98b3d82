"""A simple bind with throttling and lockout (issue 12; the rules are directory/lockout.py).

Before a password is checked, one batched read (`Look`) finds whether the client's address is
blocked or the account locked (unless the node's listing of who has counts, lockout.
KnownFailures, is current and names neither: the usual bind then reads nothing); then the bind
is refused after the same pause a remembered
wrong password gets, and **no hash is computed**: a locked account gets invalidCredentials
(49) like any wrong password (no enumeration), a blocked address unwillingToPerform (53). A
failed bind counts (`Fail`) for the address and, unless it is a service account, the account;
a success clears the account's count. Counts are read and written by the guard's writer
thread (pending.Guard), never on the loop; a lockout is logged and goes to the audit log. When
the counts cannot be read or written (the database is down) binds go on unthrottled, logged:
reads are served from memory then, and the Messaging Connector must still bind.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime

from twisted.logger import Logger

from ixidir.directory.lockout import (
    NONE,
    BindThrottles,
    Clear,
    Fail,
    Failures,
    Kind,
    KnownFailures,
    Look,
    Subject,
    account,
    address,
    is_locked,
    is_new_lock,
)
from ixidir.directory.ops.bind import BindCheck
from ixidir.directory.requests import AccessClass, Principal
from ixidir.errors import InvalidCredentials, LDAPError, UnwillingToPerform
from ixidir.server.audit import Action, AuditLog, Origin
from ixidir.server.facade import Directory
from ixidir.server.pending import Compute, Delay, Guard, Pending

# Seconds before a bind that needs no hash is refused: about one PBKDF2 verification (~270 ms),
# the pace a client had before its refusal was remembered or its account locked.
REFUSAL_DELAY = 0.25
_BAD_CREDENTIALS = "invalid credentials"  # as directory/ops/bind.py says it
_BLOCKED = "too many failed binds from this address; try again later"


@dataclass(frozen=True, slots=True)
class BindGuard:
    """What every connection's binds share: the settings (read from cn=ums-defaults at each
    bind), the clock, the log and the audit log."""

    throttles: Callable[[], BindThrottles]
    now: Callable[[], datetime]
    log: Logger
    audit: AuditLog | None = None
    on_lock: Callable[[], None] = lambda: None  # a lock or block started (the metrics count it)
    listing: KnownFailures | None = None  # who has counts (one node); None: always look


@dataclass(frozen=True, slots=True)
class Caller:
    """Where a bind comes from: the peer's host (None: not an IP connection) and, for the audit
    log, the client and connection as the session names them."""

    host: str | None
    client: str
    connection: str


def plain_bind(
    directory: Directory, dn: str, password: bytes
) -> Generator[Pending, None, Principal]:
    """A bind without throttling (a server that counts nothing): hash off the loop only."""
    started = directory.begin_bind(dn, password)
    if isinstance(started, Principal):
        return started
    return (yield from _checked(directory, started))


def guarded_bind(
    directory: Directory, guard: BindGuard, caller: Caller, dn: str, password: bytes
) -> Generator[Pending, None, Principal]:
    """The bind's principal; a refusal raises (after counting it)."""
    if not dn or not password:  # anonymous, or refused as unauthenticated: nothing to guess
        return (yield from plain_bind(directory, dn, password))
    throttles = guard.throttles()
    host = address(caller.host) if caller.host and throttles.address.is_on else None
    try:
        started = directory.begin_bind(dn, password)
    except InvalidCredentials:
        # No such account: only the address counts (and may be blocked already).
        alone: tuple[Subject, ...] = (host,) if host is not None else ()
        before = yield from _counted(guard, caller, dn, alone, throttles)
        if any(is_locked(f, throttles.address, guard.now()) for f in before):
            yield Pending(Delay(REFUSAL_DELAY))
            raise UnwillingToPerform(_BLOCKED) from None
        raise
    if isinstance(started, Principal):
        return started
    user = _account_of(started, throttles)
    watched = tuple(s for s in (host, user) if s is not None)
    if guard.listing is not None and watched and not guard.listing.must_look(watched):
        known: Sequence[Failures] = tuple(NONE for _ in watched)  # nobody on the node counted
    else:
        known = yield from _looked(guard, watched)
    now = guard.now()
    for subject, failures in zip(watched, known, strict=True):
        if is_locked(failures, throttles.of(subject.kind), now):
            yield Pending(Delay(REFUSAL_DELAY))
            if subject.kind is Kind.ADDRESS:
                raise UnwillingToPerform(_BLOCKED)
            raise InvalidCredentials(_BAD_CREDENTIALS)
    try:
        principal = yield from _checked(directory, started)
    except InvalidCredentials:
        yield from _counted(guard, caller, dn, watched, throttles)
        raise
    if user is not None and known[-1].count:
        yield Pending(Guard(Clear(user)))
    return principal


def _account_of(check: BindCheck, throttles: BindThrottles) -> Subject | None:
    """The account counted for this bind: never a service account (anyone could stop routing
    by locking the Messaging Connector); none when the lockout is off."""
    if check.principal.access is AccessClass.SERVICE or not throttles.account.is_on:
        return None
    return account(check.key)


def _looked(
    guard: BindGuard, watched: Sequence[Subject]
) -> Generator[Pending, None, Sequence[Failures]]:
    """The subjects' counts; none when they cannot be read (the database is unreachable): the
    bind then goes on unthrottled rather than refusing everyone, the connector included."""
    if not watched:
        return ()
    looked = Pending(Guard(Look(tuple(watched))))
    yield looked
    try:
        found = looked.outcome()
    except LDAPError as error:
        guard.log.warn("failed binds not counted: {reason}", reason=error.message)
        found = None
    return found if isinstance(found, tuple) else tuple(NONE for _ in watched)


def _checked(directory: Directory, check: BindCheck) -> Generator[Pending, None, Principal]:
    """The password verified: a stretched key on the hashing pool, anything cheaper at once,
    or from what the bind cache remembers (a remembered wrong password waits as long as a hash
    would take)."""
    if check.is_known_wrong:
        yield Pending(Delay(REFUSAL_DELAY))
        return directory.finish_bind(check, None)
    if not check.is_costly:  # remembered, or a salted SHA: at once (ops.bind.BindCheck)
        return directory.finish_bind(check, check.verify())
    verified = Pending(Compute(check.verify))
    yield verified
    matched = verified.outcome()
    return directory.finish_bind(check, matched if isinstance(matched, bytes) else None)


def _counted(
    guard: BindGuard,
    caller: Caller,
    dn: str,
    watched: Sequence[Subject],
    throttles: BindThrottles,
) -> Generator[Pending, None, list[Failures]]:
    """Count one failure for each subject; log and audit the locks it sets. The counts before."""
    if not watched:
        return []
    counted = Pending(Guard(Fail(tuple(watched), throttles, guard.now())))
    yield counted
    try:
        outcome = counted.outcome()
    except LDAPError as error:  # the bind is refused all the same
        guard.log.warn("failed binds not counted: {reason}", reason=error.message)
        return []
    pairs = outcome if isinstance(outcome, tuple) else ()
    for subject, pair in zip(watched, pairs, strict=False):
        before, after = pair
        if is_new_lock(before, after):
            _record_lock(guard, caller, dn, subject, after, throttles)
    return [pair[0] for pair in pairs]


def _record_lock(
    guard: BindGuard,
    caller: Caller,
    dn: str,
    subject: Subject,
    failures: Failures,
    throttles: BindThrottles,
) -> None:
    guard.on_lock()
    throttle = throttles.of(subject.kind)
    lasting = f"{throttle.lockout} s" if throttle.lockout else "until unlocked"
    details = [
        ("failures", f"{failures.count} within {throttle.window} s"),
        ("locked", lasting),
    ]
    if subject.kind is Kind.ADDRESS:
        name = "bindAddressBlock"
        details.insert(0, ("address", subject.name))
        guard.log.warn(
            "binds from {address} blocked for {lasting}: {count} failed binds",
            address=subject.name,
            lasting=lasting,
            count=failures.count,
        )
    else:
        name = "bindLockout"
        guard.log.warn(
            "account {dn} locked {lasting}: {count} wrong passwords",
            dn=dn,
            lasting=f"for {lasting}" if throttle.lockout else lasting,
            count=failures.count,
        )
    if guard.audit is None:
        return
    try:
        guard.audit.record(
            Origin("", caller.client, caller.connection), Action(name, dn, tuple(details))
        )
    except Exception:  # noqa: BLE001 (the refusal must still go out)
        guard.log.failure("could not format an audit record")
