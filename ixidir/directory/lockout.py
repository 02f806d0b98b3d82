"""Bind throttling and lockout (issue 12): the pure rules, on an injected clock.

Two kinds of subject count failed binds, each in its own window:
- an account: `ixiBindMaxFailures` (default 5) wrong passwords within `ixiBindFailureWindow`
  (default 600 s) lock it for `ixiBindLockout` (default 600 s; 0: until unlocked). A locked
  account's bind gets invalidCredentials (49), as a wrong password does, and no hash is
  computed. A correct password clears the count. Service accounts are never counted: anyone
  could stop routing by locking the Messaging Connector.
- a client address: `ixiBindAddressFailures` (default 10) failed binds within
  `ixiBindAddressWindow` (default 10 s) block that address's binds for `ixiBindAddressBlock`
  (default 60 s) with unwillingToPerform (53), service accounts included. GLAuth blocks after
  3 in 10 s; 10 leaves room for a few users behind one NAT address mistyping at once.
A setting of 0 failures switches that kind off. The settings live on `cn=ums-defaults`, so every
node applies the same; the counts live in the database (storage/bindfailures.py), so every
worker, node and restart sees them. The voice-mailbox PIN lock (pins.py) keeps its own
settings and shares `lock_is_over` with these rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

MAX_FAILURES = "ixiBindMaxFailures"
FAILURE_WINDOW = "ixiBindFailureWindow"
LOCKOUT = "ixiBindLockout"
ADDRESS_FAILURES = "ixiBindAddressFailures"
ADDRESS_WINDOW = "ixiBindAddressWindow"
ADDRESS_BLOCK = "ixiBindAddressBlock"


class Kind(Enum):
    """What a failure count is kept for; the value is its one-letter code in the table."""

    ACCOUNT = "A"
    ADDRESS = "N"


@dataclass(frozen=True, slots=True)
class Throttle:
    """`max_failures` within `window` seconds lock for `lockout` seconds (0: until unlocked)."""

    max_failures: int
    window: int
    lockout: int

    @property
    def is_on(self) -> bool:
        return self.max_failures > 0


@dataclass(frozen=True, slots=True)
class BindThrottles:
    account: Throttle = Throttle(5, 600, 600)
    address: Throttle = Throttle(10, 10, 60)

    def of(self, kind: Kind) -> Throttle:
        return self.account if kind is Kind.ACCOUNT else self.address


DEFAULTS = BindThrottles()


@dataclass(frozen=True, slots=True)
class Subject:
    """An account (by its DN key) or a client address; `key` is the table's fixed-size key
    (a DN may be 2000 characters), `name` what a person reads (`ixidir user show`)."""

    kind: Kind
    name: str

    @property
    def key(self) -> str:
        text = f"{self.kind.value}:{self.name}".encode()
        return hashlib.sha256(text).hexdigest()


def account(dn_key: str) -> Subject:
    return Subject(Kind.ACCOUNT, dn_key)


def address(host: str) -> Subject:
    return Subject(Kind.ADDRESS, host)


@dataclass(frozen=True, slots=True)
class Failures:
    """One subject's failed binds: how many since `window_start`, and when it was locked."""

    count: int = 0
    window_start: datetime | None = None
    locked_at: datetime | None = None


NONE = Failures()


def lock_is_over(locked_at: datetime, seconds: int, now: datetime) -> bool:
    """Whether a lock set at `locked_at` for `seconds` (0: until unlocked) has ended at `now`
    (the PIN lock of pins.py follows the same rule)."""
    return seconds > 0 and now >= locked_at + timedelta(seconds=seconds)


def is_locked(failures: Failures, throttle: Throttle, now: datetime) -> bool:
    """Whether binds of this subject are refused at `now` without looking at the password."""
    if failures.locked_at is None or not throttle.is_on:
        return False
    return not lock_is_over(failures.locked_at, throttle.lockout, now)


def after_failure(failures: Failures, throttle: Throttle, now: datetime) -> Failures:
    """The count after one more failure at `now`: a new window once the old one or an old lock
    has passed; locked when the count reaches the threshold (a locked subject stays as it is)."""
    if is_locked(failures, throttle, now):
        return failures
    start = failures.window_start
    expired = failures.locked_at is not None  # the lock is over: start again
    if start is None or expired or now - start > timedelta(seconds=throttle.window):
        failures = Failures(0, now, None)
    count = failures.count + 1
    locked_at = now if throttle.is_on and count >= throttle.max_failures else None
    return Failures(count, failures.window_start, locked_at)


def is_new_lock(before: Failures, after: Failures) -> bool:
    """Whether this failure locked the subject (an audit record and a log line)."""
    return after.locked_at is not None and after.locked_at != before.locked_at


def throttles(attributes: Mapping[str, Sequence[bytes]]) -> BindThrottles:
    """The settings on the defaults entry; absent or invalid values take the defaults."""
    account_default, address_default = DEFAULTS.account, DEFAULTS.address
    return BindThrottles(
        account=Throttle(
            _integer(attributes, MAX_FAILURES, 0, account_default.max_failures),
            _integer(attributes, FAILURE_WINDOW, 1, account_default.window),
            _integer(attributes, LOCKOUT, 0, account_default.lockout),
        ),
        address=Throttle(
            _integer(attributes, ADDRESS_FAILURES, 0, address_default.max_failures),
            _integer(attributes, ADDRESS_WINDOW, 1, address_default.window),
            _integer(attributes, ADDRESS_BLOCK, 1, address_default.lockout),
        ),
    )


def _integer(
    attributes: Mapping[str, Sequence[bytes]], name: str, lowest: int, default: int
) -> int:
    values = attributes.get(name, ())
    try:
        number = int(values[0]) if values else default
    except ValueError:
        return default
    return number if number >= lowest else default


# --- what the store does, in batches (storage/bindfailures.py) ---
@dataclass(frozen=True, slots=True)
class Look:
    """Read the subjects' failures (before a bind checks a password): a tuple of Failures."""

    subjects: tuple[Subject, ...]


@dataclass(frozen=True, slots=True)
class Fail:
    """Count one failed bind for each subject at `now`: a tuple of (before, after) Failures."""

    subjects: tuple[Subject, ...]
    throttles: BindThrottles
    now: datetime


@dataclass(frozen=True, slots=True)
class Clear:
    """Forget a subject's failures (a correct password, an unlock): whether there were any."""

    subject: Subject


@dataclass(frozen=True, slots=True)
class Purge:
    """Delete counts whose window began before `before` (and address blocks set before it;
    an account lock stays until it is lifted): how many rows went."""

    before: datetime


@dataclass(frozen=True, slots=True)
class ListSubjects:
    """The keys of every subject with a stored count, or None when there are more than
    `limit` (KnownFailures then looks at every bind)."""

    limit: int


GuardOp = Look | Fail | Clear | Purge | ListSubjects
GuardResult = (
    tuple[Failures, ...]
    | tuple[tuple[Failures, Failures], ...]
    | bool
    | int
    | frozenset[str]
    | None
)


class KnownFailures:
    """Which subjects have failed-bind counts, so that a bind of anyone else needs no `Look`
    (one read of the database on the guard's thread per bind, ~0.5 ms of its CPU).

    Exact on one node: every process that writes counts advances the node's shared counter
    (`generation`) after its commit, before it answers; a listing is trusted only while the
    counter still has the value read before the listing was asked for, so a count committed
    anywhere on the node sends the next binds to `Look` until a new listing arrives. Several
    nodes on a Firebird server share no counter: they always look (no KnownFailures).
    """

    def __init__(self, generation: Callable[[], int], refresh: Callable[[int], None]) -> None:
        """`generation` reads the node's counter; `refresh(as_of)` asks for a ListSubjects and
        hands its result to `listed(result, as_of)`."""
        self._generation = generation
        self._refresh = refresh
        self._listed: frozenset[str] | None = None
        self._as_of = -1
        self._refreshing = False

    def must_look(self, subjects: Sequence[Subject]) -> bool:
        """Whether a bind of `subjects` must read their counts (asks for a new listing when
        the one held is out of date)."""
        now = self._generation()
        if now != self._as_of:
            if not self._refreshing:
                self._refreshing = True
                self._refresh(now)
            return True
        listed = self._listed  # None: too many to list, or the listing failed
        return listed is None or any(subject.key in listed for subject in subjects)

    def listed(self, keys: frozenset[str] | None, as_of: int) -> None:
        """A listing asked for at generation `as_of` (None: too many, or it failed)."""
        self._refreshing = False
        self._listed, self._as_of = keys, as_of
