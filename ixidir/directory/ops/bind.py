"""Simple bind (RFC 4511 §4.2, RFC 4513 §5.1) and WhoAmI (RFC 4532)."""

from __future__ import annotations

from ixidir.directory.ops.attributes import USER_PASSWORD
from ixidir.directory.passwords import verify_password
from ixidir.directory.requests import ANONYMOUS, AccessClass, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import InvalidCredentials, InvalidDNSyntax, UnwillingToPerform

# One message for an unknown DN and a wrong password: no user enumeration (RFC 4513 §6.3.1).
_BAD_CREDENTIALS = "invalid credentials"


def bind(state: DirectoryState, dn: str, password: bytes) -> Principal:
    """Anonymous for an empty name and password; else the entry's userPassword decides."""
    if not dn:
        if password:
            raise UnwillingToPerform("a password without a name is not a valid bind")
        return ANONYMOUS
    if not password:
        # RFC 4513 §5.1.2: unauthenticated binds are refused by default.
        raise UnwillingToPerform("unauthenticated bind (DN with no password) not allowed")
    try:
        parsed, key = state.parse_dn(dn)
    except InvalidDNSyntax:
        raise InvalidCredentials(_BAD_CREDENTIALS) from None
    entry = state.dit.get(key)
    stored = entry.attributes.get(USER_PASSWORD, ()) if entry is not None else ()
    if not stored and key == state.admin_key and state.settings.admin_password:
        stored = (state.settings.admin_password,)
    if not any(_verify(state, key, value, password) for value in stored):
        raise InvalidCredentials(_BAD_CREDENTIALS)
    name = str(entry.dn) if entry is not None else str(parsed)
    return Principal(dn=name, access=_access(state, key))


def _verify(state: DirectoryState, key: str, stored: bytes, password: bytes) -> bool:
    """verify_password, skipped when the same password matched the same hash before."""
    if state.bind_cache.knows(key, stored, password):
        return True
    if verify_password(stored, password):
        state.bind_cache.remember(key, stored, password)
        return True
    return False


def _access(state: DirectoryState, key: str) -> AccessClass:
    if key == state.admin_key:
        return AccessClass.ADMIN
    if key in state.service_keys:
        return AccessClass.SERVICE
    return AccessClass.USER


def who_am_i(principal: Principal) -> str:
    """RFC 4532 authzId: `dn:<dn>`, or empty for anonymous."""
    return f"dn:{principal.dn}" if principal.dn else ""
