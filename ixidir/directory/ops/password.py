"""Password Modify extended operation (RFC 3062).

Decisions: anonymous → unwillingToPerform (as OpenLDAP: only authenticated users change
passwords); a user changing its own password must send the right old one (wrong or missing →
unwillingToPerform, as slapd answers both: RFC 3062 names no code, and invalidCredentials
would read as a failed bind to a client); the admin sets anyone's without the old one;
service accounts are read-only. No new password → a random one is generated and returned.
"""

from __future__ import annotations

from ixidir.directory.operational import modification_stamps
from ixidir.directory.ops.attributes import USER_PASSWORD, frozen
from ixidir.directory.passwords import generate_password, hash_password, verify_password
from ixidir.directory.requests import AccessClass, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import (
    InsufficientAccessRights,
    NoSuchObject,
    UnwillingToPerform,
)


def password_modify(
    state: DirectoryState,
    principal: Principal,
    user: str | None,
    old: bytes | None,
    new: bytes | None,
) -> bytes | None:
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
    if not principal.is_admin:
        if not old:
            raise UnwillingToPerform("the old password is required")
        stored = entry.attributes.get(USER_PASSWORD, ())
        if not any(verify_password(value, old) for value in stored):
            raise UnwillingToPerform("the old password is wrong")
    generated = generate_password() if new is None else None
    password = new if new is not None else generated
    if not password:
        raise UnwillingToPerform("an empty password is not allowed")
    attributes = {name: list(values) for name, values in entry.attributes.items()}
    attributes[USER_PASSWORD] = [hash_password(password, state.password_policy)]
    attributes.update(
        {
            n: list(v)
            for n, v in modification_stamps(modifier=principal.dn, moment=state.clock()).items()
        }
    )
    state.write(
        puts=[
            state.make_entry(
                uuid=entry.uuid, dn=entry.dn, dn_key=entry.dn_key, attributes=frozen(attributes)
            )
        ]
    )
    return generated
