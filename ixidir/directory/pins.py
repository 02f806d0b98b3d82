"""Voice-mailbox PINs (SCHEMA.md): the PIN rules, and verify, lock and reset over the state.

Rules (our decisions, SCHEMA.md leaves the details open):
- A PIN is 4 to 12 ASCII digits: it is keyed on a telephone keypad; 4 is the shortest PIN
  phones commonly take, 12 bounds what a caller can be asked to type.
- Refused as trivial: one short block repeated (`1111`, `1212`, `123123`), an ascending or
  descending run with wrap-around (`1234`, `4321`, `98765`, `7890`; the vendor default `12345`
  is one), and the last digits of any of the user's own numbers (`telephoneNumber`,
  `facsimileTelephoneNumber`, `mobile`, `ixiVoiceNumber`, `ixiSmsNumber`): the extension is the
  end of the number, and so is the whole number.
- Stored only as `{PBKDF2-SHA256}iter$salt$hash`; an import may bring such a hash, any other
  scheme (unsalted or not iterated) is refused.

Lock: every wrong PIN adds one to ixiVmPinFailedCount; reaching ixiVmPinMaxFailures of the
defaults entry (default 3) sets ixiVmPinLocked TRUE and ixiVmPinLockedAt. While locked nothing
is verified. With ixiVmPinLockoutSeconds > 0 a lock the server set expires after that long (a
lock an administrator set over LDAP, without ixiVmPinLockedAt, never expires). An administrator
unlocks with `reset` or by writing ixiVmPinLocked FALSE; a lock timestamp without the lock flag
tells the next verification that the counter starts again. A correct PIN clears the counter.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from ixidir.directory.dit import Entry
from ixidir.directory.lockout import lock_is_over
from ixidir.directory.operational import generalized_time, modification_stamps
from ixidir.directory.passwords import MAX_ITERATIONS, SecretHashes, hash_pin, verify_password
from ixidir.directory.requests import AccessClass, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import (
    ConstraintViolation,
    InsufficientAccessRights,
    NoSuchAttribute,
    NoSuchObject,
    UnwillingToPerform,
)
from ixidir.schema.timeparse import parse_generalized_time

VM_PIN = "ixiVmPin"
PIN_LOCKED = "ixiVmPinLocked"
PIN_FAILED_COUNT = "ixiVmPinFailedCount"
PIN_LOCKED_AT = "ixiVmPinLockedAt"
PIN_CHANGED_AT = "ixiVmPinChangedAt"
WELCOME_PENDING = "ixiVmWelcomePending"
MAX_FAILURES = "ixiVmPinMaxFailures"
LOCKOUT_SECONDS = "ixiVmPinLockoutSeconds"
USER_CLASS = "ixiUmsUser"
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12
# 6 random digits: a million PINs, and three guesses before the lock.
GENERATED_PIN_DIGITS = 6
# The vendor's kernel locks after 3 wrong PINs (SCHEMA.md); used when the defaults entry is silent.
DEFAULT_MAX_FAILURES = 3
NUMBER_ATTRIBUTES = (
    "telephoneNumber",
    "facsimileTelephoneNumber",
    "mobile",
    "ixiVoiceNumber",
    "ixiSmsNumber",
)
PIN_HASH = re.compile(rb"\{PBKDF2-SHA256\}([0-9]{1,8})\$([A-Za-z0-9./]+)\$([A-Za-z0-9./]+)", re.I)
_TRUE = b"TRUE"
_VERIFIERS = frozenset({AccessClass.ADMIN, AccessClass.SERVICE})
# Bound on draws in generate_pin; rejection is rare (about 1 in 10,000 for 6 digits).
_MAX_DRAWS = 1000

Attributes = Mapping[str, Sequence[bytes]]
Working = MutableMapping[str, list[bytes]]


class PinOutcome(IntEnum):
    """The verify-PIN responseValue's ENUMERATED result."""

    OK = 0
    WRONG = 1
    LOCKED = 2


@dataclass(frozen=True, slots=True)
class PinResult:
    """A verification's answer; `attempts_left` is how many wrong PINs remain before the lock."""

    result: PinOutcome
    attempts_left: int


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """The server's threshold and temporary-lockout duration (0: until an administrator unlocks)."""

    max_failures: int = DEFAULT_MAX_FAILURES
    lockout_seconds: int = 0


# --- rules ---
def pin_problem(pin: bytes, *, numbers: Iterable[bytes] = ()) -> str | None:
    """Why `pin` is not allowed as a new PIN, or None when it is (rules in the module doc)."""
    if not (PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS and pin.isdigit()):
        return f"a PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"
    if _is_repeated(pin):
        return "a PIN must not repeat one digit or one short group of digits"
    if _is_run(pin):
        return "a PIN must not be an ascending or descending run of digits"
    if any(_digits_of(number).endswith(pin) for number in numbers):
        return "a PIN must not be the end of the user's own phone or fax number"
    return None


def check_pin_rules(pin: bytes, *, numbers: Iterable[bytes] = ()) -> None:
    """Refuse a trivial or malformed new PIN with constraintViolation; the PIN is never echoed."""
    problem = pin_problem(pin, numbers=numbers)
    if problem is not None:
        raise ConstraintViolation(f"{VM_PIN}: {problem}")


def _is_repeated(pin: bytes) -> bool:
    size = len(pin)
    return any(
        size % block == 0 and pin == pin[:block] * (size // block)
        for block in range(1, size // 2 + 1)
    )


def _is_run(pin: bytes) -> bool:
    steps = {(b - a) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})


def _digits_of(number: bytes) -> bytes:
    """The digits of a number, without a `$` fax-parameter suffix (SCHEMA.md routing)."""
    return bytes(c for c in number.partition(b"$")[0] if 0x30 <= c <= 0x39)


def user_numbers(attributes: Attributes) -> list[bytes]:
    """The user's own numbers the PIN may not end: SCHEMA.md's routing and office numbers."""
    return [value for name in NUMBER_ATTRIBUTES for value in attributes.get(name, ())]


def generate_pin(
    numbers: Iterable[bytes] = (),
    *,
    digits: int = GENERATED_PIN_DIGITS,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> bytes:
    """A random PIN that passes the rules (a hash cannot be read back for the welcome mail)."""
    own = list(numbers)
    for _ in range(_MAX_DRAWS):
        pin = "".join(str(randbelow(10)) for _ in range(digits)).encode("ascii")
        if pin_problem(pin, numbers=own) is None:
            return pin
    raise UnwillingToPerform("could not generate a PIN that passes the rules")


# --- storing (add, modify and import) ---
def stored_pin(
    value: bytes,
    *,
    numbers: Iterable[bytes],
    iterations: int,
    hashes: SecretHashes | None = None,
) -> bytes:
    """The value to store for a written ixiVmPin: a plain PIN checked and hashed, a hash kept."""
    if value.startswith(b"{"):
        match = PIN_HASH.fullmatch(value)
        if match is None or not 1 <= int(match[1]) <= MAX_ITERATIONS:
            raise ConstraintViolation(
                f"{VM_PIN}: only a plain PIN or a {{PBKDF2-SHA256}}iter$salt$hash value is accepted"
            )
        return value
    check_pin_rules(value, numbers=numbers)
    return hash_pin(value, iterations) if hashes is None else hashes.pin(value, iterations)


def protect_pin(
    attributes: Working,
    *,
    previous: Attributes | None,
    iterations: int,
    clock: Callable[[], datetime],
    hashes: SecretHashes | None = None,
) -> None:
    """Check and hash a written ixiVmPin and stamp ixiVmPinChangedAt when the PIN changed.

    `previous` is the entry before a modify (None for an add, where an import's own
    ixiVmPinChangedAt is kept). Removing the PIN removes its change time.
    """
    before = list(previous.get(VM_PIN, ())) if previous is not None else []
    values = attributes.get(VM_PIN)
    if not values:
        if before:
            attributes.pop(PIN_CHANGED_AT, None)
        return
    numbers = user_numbers(attributes)
    values = [
        value
        if value in before
        else stored_pin(value, numbers=numbers, iterations=iterations, hashes=hashes)
        for value in values
    ]
    attributes[VM_PIN] = values
    imported = previous is None and bool(attributes.get(PIN_CHANGED_AT))
    if values != before and not imported:
        attributes[PIN_CHANGED_AT] = [generalized_time(clock())]


# --- verify and lock ---
def lockout_policy(state: DirectoryState) -> LockoutPolicy:
    """The threshold and lockout duration of the defaults entry; bad or absent → the defaults."""
    entry = state.dit.get(state.defaults_key)
    attributes: Attributes = {} if entry is None else entry.attributes
    max_failures = _integer(attributes, MAX_FAILURES)
    lockout = _integer(attributes, LOCKOUT_SECONDS)
    return LockoutPolicy(
        max_failures=max_failures
        if max_failures is not None and max_failures >= 1
        else DEFAULT_MAX_FAILURES,
        lockout_seconds=lockout if lockout is not None and lockout >= 0 else 0,
    )


@dataclass(frozen=True, slots=True)
class PinCheck:
    """A PIN waiting to be checked against the mailbox's stored hashes: `verify` is pure CPU
    (PBKDF2: ~280 ms at the default cost) and reads no directory state, so a server runs it
    on a thread; `settle_pin` then counts the outcome against the mailbox as it is by then."""

    uuid: str
    stored: tuple[bytes, ...]
    pin: bytes

    def verify(self) -> bool:
        return any(verify_password(value, self.pin) for value in self.stored)


def verify_pin(
    state: DirectoryState, principal: Principal, user_dn: str, pin: bytes, *, now: datetime
) -> PinResult:
    """Check a caller's PIN for the voice package, counting failures and locking at the threshold.

    A locked mailbox answers `locked` without looking at the PIN. The wrong PIN that reaches the
    threshold answers `wrong` with 0 attempts left; the mailbox is locked from then on.
    """
    started = begin_verify_pin(state, principal, user_dn, pin, now=now)
    if isinstance(started, PinResult):
        return started
    return finish_verify_pin(state, started, now=now)


def finish_verify_pin(state: DirectoryState, check: PinCheck, *, now: datetime) -> PinResult:
    """Hash, count and write on this thread: the synchronous path (the CLI)."""
    result, counted = settle_pin(state, check, check.verify(), now=now)
    if counted is not None:
        state.write(puts=[counted])
    return result


def begin_verify_pin(
    state: DirectoryState, principal: Principal, user_dn: str, pin: bytes, *, now: datetime
) -> PinResult | PinCheck:
    """Everything of a verification but hashing: the answer for a locked mailbox, else the
    check to run; refusals raise."""
    if principal.access not in _VERIFIERS:
        raise InsufficientAccessRights("verify PIN: not allowed for this identity")
    entry = _entry(state, user_dn)
    if lock_state(entry.attributes, lockout_policy(state), now).is_locked:
        return PinResult(PinOutcome.LOCKED, 0)
    stored = entry.attributes.get(VM_PIN)
    if not stored:
        raise NoSuchAttribute(f"{VM_PIN}: no PIN is set for {user_dn}")
    return PinCheck(entry.uuid, tuple(stored), pin)


def settle_pin(
    state: DirectoryState, check: PinCheck, matched: bool, *, now: datetime
) -> tuple[PinResult, Entry | None]:
    """The answer, and the mailbox with its failure count and lock updated (None: unchanged),
    from the mailbox as memory holds it now (another verification may have counted since)."""
    entry = state.dit.by_uuid(check.uuid)
    if entry is None:
        raise NoSuchObject("no such object: the mailbox was deleted")
    policy = lockout_policy(state)
    status = lock_state(entry.attributes, policy, now)
    if status.is_locked:
        return PinResult(PinOutcome.LOCKED, 0), None
    failures, stale = status.failures, status.is_stale
    if matched:
        cleared = {PIN_FAILED_COUNT: None, PIN_LOCKED: None, PIN_LOCKED_AT: None}
        counted = _counted(state, entry, cleared) if failures or stale else None
        return PinResult(PinOutcome.OK, policy.max_failures), counted
    failures += 1
    changes: dict[str, bytes | None] = {PIN_FAILED_COUNT: str(failures).encode("ascii")}
    if stale:
        changes.update({PIN_LOCKED: None, PIN_LOCKED_AT: None})
    if failures >= policy.max_failures:
        changes.update({PIN_LOCKED: _TRUE, PIN_LOCKED_AT: generalized_time(now)})
    result = PinResult(PinOutcome.WRONG, max(policy.max_failures - failures, 0))
    return result, _counted(state, entry, changes)


@dataclass(frozen=True, slots=True)
class LockState:
    """A mailbox at one moment: failures that count, whether it is locked, and whether lock
    attributes are left over (an expired lock, or an unlock over LDAP) for the next write to clear.
    """

    failures: int
    is_locked: bool
    is_stale: bool


def lock_state(attributes: Attributes, policy: LockoutPolicy, now: datetime) -> LockState:
    """Where a mailbox stands at `now` (rules in the module doc)."""
    failures = _integer(attributes, PIN_FAILED_COUNT) or 0
    is_flagged = _boolean(attributes, PIN_LOCKED)
    locked_at = _time(attributes, PIN_LOCKED_AT)
    if not is_flagged:
        # A lock time without the flag: an administrator unlocked over LDAP, start again.
        stale = locked_at is not None
        return LockState(0 if stale else failures, is_locked=False, is_stale=stale)
    # The bind lockout's expiry rule (lockout.py): 0 s, or no lock time, lasts until unlocked.
    if locked_at is not None and lock_is_over(locked_at, policy.lockout_seconds, now):
        return LockState(0, is_locked=False, is_stale=True)
    return LockState(failures, is_locked=True, is_stale=False)


def _counted(state: DirectoryState, entry: Entry, changes: Mapping[str, bytes | None]) -> Entry:
    """Server bookkeeping: no modifyTimestamp or modifiersName (nobody modified the entry)."""
    attributes = dict(entry.attributes)
    for name, value in changes.items():
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = (value,)
    return _rebuilt(state, entry, attributes)


# --- reset (the manual's §4.4.2.5) ---
def reset_voicemail(
    state: DirectoryState,
    principal: Principal,
    user_dn: str,
    *,
    new_pin: bool,
    unlock: bool,
    resend_welcome: bool,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> bytes | None:
    """Unlock, give a new random PIN and/or ask for the welcome mail again; administrator only.

    Returns the new PIN (its only copy: only the hash is stored), or None without `new_pin`.
    """
    if not state.is_admin(principal):
        raise InsufficientAccessRights("only the administrator may reset a voice mailbox")
    if not (new_pin or unlock or resend_welcome):
        raise UnwillingToPerform("a voice-mailbox reset needs at least one action")
    entry = _entry(state, user_dn)
    attributes = {name: list(values) for name, values in entry.attributes.items()}
    if unlock:
        for name in (PIN_LOCKED, PIN_LOCKED_AT, PIN_FAILED_COUNT):
            attributes.pop(name, None)
    pin = None
    moment = state.clock()
    if new_pin:
        pin = generate_pin(user_numbers(attributes), randbelow=randbelow)
        attributes[VM_PIN] = [hash_pin(pin, state.settings.pin_iterations)]
        attributes[PIN_CHANGED_AT] = [generalized_time(moment)]
        # Failures counted against the old PIN mean nothing now; a lock stays until unlocked.
        attributes.pop(PIN_FAILED_COUNT, None)
    if resend_welcome:
        attributes[WELCOME_PENDING] = [_TRUE]
    if new_pin or resend_welcome:
        _ensure_user_class(state, attributes)
    state.schema.check_entry(attributes)
    for name, values in modification_stamps(modifier=principal.dn, moment=moment).items():
        attributes[name] = list(values)
    state.write(puts=[_rebuilt(state, entry, attributes)])
    return pin


def _ensure_user_class(state: DirectoryState, attributes: Working) -> None:
    classes = attributes.setdefault("objectClass", [])
    names = {state.schema.object_class(value.decode("utf-8")).name for value in classes}
    if USER_CLASS not in names:
        classes.append(USER_CLASS.encode("ascii"))


# --- shared ---
def _entry(state: DirectoryState, user_dn: str) -> Entry:
    _, key = state.parse_dn(user_dn)
    entry = state.dit.get(key)
    if entry is None:
        raise NoSuchObject(f"no such object: {user_dn}")
    return entry


def _rebuilt(state: DirectoryState, entry: Entry, attributes: Attributes) -> Entry:
    kept = {name: tuple(values) for name, values in attributes.items() if values}
    return state.make_entry(uuid=entry.uuid, dn=entry.dn, dn_key=entry.dn_key, attributes=kept)


def _integer(attributes: Attributes, name: str) -> int | None:
    values = attributes.get(name)
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def _boolean(attributes: Attributes, name: str) -> bool:
    values = attributes.get(name)
    return values is not None and len(values) > 0 and values[0].strip().upper() == _TRUE


def _time(attributes: Attributes, name: str) -> datetime | None:
    values = attributes.get(name)
    try:
        return parse_generalized_time(values[0]) if values else None
    except (ValueError, UnicodeDecodeError):
        return None
