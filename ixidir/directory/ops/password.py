"""Password Modify extended operation (RFC 3062).

Decisions: anonymous → unwillingToPerform (as OpenLDAP: only authenticated users change
passwords); a user changing its own password must send the right old one (wrong or missing →
unwillingToPerform, as slapd answers both: RFC 3062 names no code, and invalidCredentials
would read as a failed bind to a client); the admin sets anyone's without the old one;
service accounts are read-only. No new password → a random one is generated and returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from ixidir.directory.dit import Entry
from ixidir.directory.operational import modification_stamps
from ixidir.directory.ops.attributes import USER_PASSWORD, frozen
from ixidir.directory.passwords import (
    PasswordPolicy,
    generate_password,
    hash_password,
    verify_password,
)
from ixidir.directory.requests import AccessClass, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import (
    InsufficientAccessRights,
    NoSuchObject,
    UnwillingToPerform,
)


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """A password change waiting for its hashing: `compute` checks the old password (a user's
    own change) and hashes the new one, pure CPU (PBKDF2, twice ~270 ms) that reads no
    directory state, so a server runs it on a thread; `changed_entry` then builds the write."""

    uuid: str
    password: bytes
    generated: bytes | None
    policy: PasswordPolicy
    old: bytes | None = None  # None: no old password to check (the administrator)
    stored: tuple[bytes, ...] = ()

    def compute(self) -> bytes:
        """The new userPassword value; UnwillingToPerform for a wrong old password (as slapd)."""
        if self.old is not None and not any(verify_password(v, self.old) for v in self.stored):
            raise UnwillingToPerform("the old password is wrong")
        return hash_password(self.password, self.policy)


def password_modify(
    state: DirectoryState,
    principal: Principal,
    user: str | None,
    old: bytes | None,
    new: bytes | None,
) -> bytes | None:
    change = begin_password_modify(state, principal, user, old, new)
    state.write(puts=[changed_entry(state, principal, change, change.compute())])
    return change.generated


def begin_password_modify(
    state: DirectoryState,
    principal: Principal,
    user: str | None,
    old: bytes | None,
    new: bytes | None,
) -> PasswordChange:
    """Every check of a password change that needs no hashing; refusals raise."""
    if principal.access is AccessClass.ANONYMOUS:
        raise UnwillingToPerform("only authenticated users may change passwords")
    target = user if user else principal.dn
    _, key = state.parse_dn(target)
    is_self = key == state.principal_key(principal)
    if not (principal.is_admin or (is_self and principal.access is AccessClass.USER)):
        raise InsufficientAccessRights("you may change only your own password")
    entry = state.dit.get(key)
    if entry is None:
        raise NoSuchObject(f"no such object: {target}")
    if not principal.is_admin and not old:
        raise UnwillingToPerform("the old password is required")
    generated = generate_password() if new is None else None
    password = new if new is not None else generated
    if not password:
        raise UnwillingToPerform("an empty password is not allowed")
    if principal.is_admin:
        return PasswordChange(entry.uuid, password, generated, state.password_policy)
    stored = tuple(entry.attributes.get(USER_PASSWORD, ()))
    return PasswordChange(entry.uuid, password, generated, state.password_policy, old, stored)


def changed_entry(
    state: DirectoryState, principal: Principal, change: PasswordChange, hashed: bytes
) -> Entry:
    """The entry (as memory holds it now) with its new userPassword, stamped."""
    entry = state.dit.by_uuid(change.uuid)
    if entry is None:
        raise NoSuchObject("no such object: the entry was deleted")
    attributes = {name: list(values) for name, values in entry.attributes.items()}
    attributes[USER_PASSWORD] = [hashed]
    stamps = modification_stamps(modifier=principal.dn, moment=state.clock())
    attributes.update({name: list(values) for name, values in stamps.items()})
    return state.make_entry(
        uuid=entry.uuid, dn=entry.dn, dn_key=entry.dn_key, attributes=frozen(attributes)
    )
