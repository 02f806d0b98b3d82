"""Simple bind (RFC 4511 §4.2, RFC 4513 §5.1) and WhoAmI (RFC 4532)."""

from __future__ import annotations

from dataclasses import dataclass

from ixidir.directory.ops.attributes import USER_PASSWORD
from ixidir.directory.passwords import verify_password
from ixidir.directory.requests import ANONYMOUS, AccessClass, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import InvalidCredentials, InvalidDNSyntax, UnwillingToPerform

# One message for an unknown DN and a wrong password: no user enumeration (RFC 4513 §6.3.1).
_BAD_CREDENTIALS = "invalid credentials"


@dataclass(frozen=True, slots=True)
class BindCheck:
    """A simple bind waiting for its password to be checked against stored hashes.

    `verify` is pure CPU (PBKDF2: ~270 ms at the default cost) and reads no directory state,
    so a server runs it on a thread while its event loop serves others; `finish_bind` then
    decides on the loop. `principal` is who the connection becomes when a hash matches.
    """

    key: str
    principal: Principal
    stored: tuple[bytes, ...]
    password: bytes
    is_known_wrong: bool = False  # refused before against the same hashes (bindcache.py)
    # The stored value this password matched before (bindcache.py): no hash to compute. The
    # check is still returned, so a server can refuse a locked account before it succeeds.
    known_match: bytes | None = None

    @property
    def needs_hash(self) -> bool:
        return not self.is_known_wrong and self.known_match is None

    def verify(self) -> bytes | None:
        """The stored value the password matches, None when none does."""
        if self.is_known_wrong or self.known_match is not None:
            return self.known_match
        for value in self.stored:
            if verify_password(value, self.password):
                return value
        return None


def bind(state: DirectoryState, dn: str, password: bytes) -> Principal:
    """Anonymous for an empty name and password; else the entry's userPassword decides."""
    started = begin_bind(state, dn, password)
    if isinstance(started, Principal):
        return started
    return finish_bind(state, started, started.verify())


def begin_bind(state: DirectoryState, dn: str, password: bytes) -> Principal | BindCheck:
    """Everything of a bind but hashing: the principal for an anonymous bind, else the check
    to run (which may need no hash: `needs_hash`); refusals raise."""
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
    if not stored:
        raise InvalidCredentials(_BAD_CREDENTIALS)
    name = str(entry.dn) if entry is not None else str(parsed)
    principal = Principal(dn=name, access=_access(state, key))
    # No hash when the same password matched the same hash before (bindcache.py).
    for value in stored:
        if state.bind_cache.knows(key, value, password):
            return BindCheck(key, principal, tuple(stored), password, known_match=value)
    wrong = state.bind_cache.is_refused(key, stored, password)
    return BindCheck(key, principal, tuple(stored), password, is_known_wrong=wrong)


def finish_bind(state: DirectoryState, check: BindCheck, matched: bytes | None) -> Principal:
    """The bind's outcome once `check.verify()` returned `matched`."""
    if matched is None:
        state.bind_cache.remember_refusal(check.key, check.stored, check.password)
        raise InvalidCredentials(_BAD_CREDENTIALS)
    state.bind_cache.remember(check.key, matched, check.password)
    return check.principal


def _access(state: DirectoryState, key: str) -> AccessClass:
    if key == state.admin_key:
        return AccessClass.ADMIN
    if key in state.service_keys:
        return AccessClass.SERVICE
    return AccessClass.USER


def who_am_i(principal: Principal) -> str:
    """RFC 4532 authzId: `dn:<dn>`, or empty for anonymous."""
    return f"dn:{principal.dn}" if principal.dn else ""
