"""Voice-mailbox use-cases (vendor manual §4.4.2.2 and §4.4.2.5): reset, set a PIN, show the state.

Everything goes through the Directory facade as the administrator, so the PIN rules, the hashing
and the lock bookkeeping are the same as over LDAP; refusals come back as AdminError naming the
user. The manual's five reset actions are combinations of three flags (unlock, new PIN, resend the
welcome mail); any non-empty combination is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from ixidir.admin.auditing import record
from ixidir.admin.errors import AdminError
from ixidir.admin.users import Session, find_user
from ixidir.directory.dit import Entry
from ixidir.directory.pins import (
    PIN_CHANGED_AT,
    PIN_LOCKED_AT,
    USER_CLASS,
    VM_PIN,
    WELCOME_PENDING,
    LockoutPolicy,
    LockState,
    lock_state,
    lockout_policy,
)
from ixidir.directory.requests import Modification, ModifyRequest, ModOp
from ixidir.errors import LDAPError
from ixidir.schema.timeparse import parse_generalized_time
from ixidir.server.audit import MASK, Action

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ResetActions:
    """What a reset does; the manual's five are (resend), (new PIN + resend), (unlock),
    (unlock + resend) and (unlock + new PIN + resend)."""

    unlock: bool = False
    new_pin: bool = False
    resend_welcome: bool = False

    def check(self) -> None:
        """Refuse a reset that does nothing."""
        if not (self.unlock or self.new_pin or self.resend_welcome):
            raise AdminError("voicemail reset: choose --unlock, --new-pin and/or --resend-welcome")

    def describe(self) -> str:
        done = [
            text
            for flag, text in (
                (self.unlock, "unlocked"),
                (self.new_pin, "new PIN set"),
                (self.resend_welcome, "welcome mail requested"),
            )
            if flag
        ]
        return ", ".join(done)


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    """The user reset and, with a new PIN, the PIN itself: shown once, never stored in clear."""

    dn: str
    actions: ResetActions
    pin: bytes | None


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """`ixidir voicemail show`: the PIN's state without the PIN or its hash."""

    dn: str
    has_pin: bool
    lock: LockState
    policy: LockoutPolicy
    locked_at: datetime | None
    pin_changed_at: datetime | None
    welcome_pending: bool


def user_dn(session: Session, user: str) -> str:
    """A DN as given, or the one user with this uid (`uid=UID,ou=people,<base>` or anywhere)."""
    if "=" in user:
        return user
    return find_user(session, user).dn


def reset_voicemail(session: Session, user: str, actions: ResetActions) -> ResetOutcome:
    """Unlock, set a random PIN and/or ask the voice package to resend the welcome mail."""
    actions.check()
    dn = user_dn(session, user)
    pin = _naming(dn, session.directory.reset_voicemail)(
        session.principal,
        dn,
        new_pin=actions.new_pin,
        unlock=actions.unlock,
        resend_welcome=actions.resend_welcome,
    )
    done = [("action", actions.describe())]
    if pin is not None:
        done.append((VM_PIN, MASK))
    record(
        session.audit,
        session.principal,
        Action("voicemailReset", dn, tuple(done)),
        origin=session.origin,
    )
    return ResetOutcome(dn, actions, pin)


def set_pin(session: Session, user: str, pin: bytes) -> str:
    """Set a PIN the administrator chose (manual §4.4.2.2); the PIN rules apply. Returns the DN."""
    dn = user_dn(session, user)
    entry = _entry(session, dn)
    changes = [Modification(ModOp.REPLACE, VM_PIN, (pin,))]
    classes = {value.decode("utf-8").lower() for value in entry.attributes.get("objectClass", ())}
    if USER_CLASS.lower() not in classes:
        changes.insert(0, Modification(ModOp.ADD, "objectClass", (USER_CLASS.encode(),)))
    request = ModifyRequest(dn, tuple(changes))
    _naming(dn, session.directory.modify)(session.principal, request)
    record(session.audit, session.principal, request, origin=session.origin)
    return dn


def mailbox_status(session: Session, user: str, *, now: datetime) -> MailboxStatus:
    """The lock, counter, change time and welcome flag of one user's voice mailbox."""
    dn = user_dn(session, user)
    attributes = _entry(session, dn).attributes
    policy = lockout_policy(session.directory.state)
    return MailboxStatus(
        dn=dn,
        has_pin=bool(attributes.get(VM_PIN)),
        lock=lock_state(attributes, policy, now),
        policy=policy,
        locked_at=_time(attributes.get(PIN_LOCKED_AT)),
        pin_changed_at=_time(attributes.get(PIN_CHANGED_AT)),
        welcome_pending=attributes.get(WELCOME_PENDING, (b"",))[0].upper() == b"TRUE",
    )


def _entry(session: Session, dn: str) -> Entry:
    state = session.directory.state
    try:
        entry = state.dit.get(state.parse_dn(dn)[1])
    except LDAPError as error:
        raise AdminError(f"{dn}: {error.message}") from error
    if entry is None:
        raise AdminError(f"no such user: {dn}")
    return entry


def _time(values: tuple[bytes, ...] | None) -> datetime | None:
    try:
        return parse_generalized_time(values[0]) if values else None
    except (ValueError, UnicodeDecodeError):
        return None


def _naming(dn: str, call: Callable[_P, _T]) -> Callable[_P, _T]:
    """`call` with its LDAPError turned into an AdminError that names the user."""

    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return call(*args, **kwargs)
        except LDAPError as error:
            raise AdminError(f"{dn}: {error.message}") from error

    return wrapped
