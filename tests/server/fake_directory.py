"""A minimal in-memory stand-in for `ixidir.directory.directory.Directory`.

`test_protocol_directory.py` drives the real directory, which offers every operation. This fake
stays for what the real one cannot show cheaply: a DN whose delete fails with an unexpected
exception (the `other` (80) path, with a secret in the message that must not leak) and large
result sets for streaming tests, without building thousands of entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ixidir.directory import filter as flt
from ixidir.directory.dit import Entry
from ixidir.directory.ops.bind import BindCheck
from ixidir.directory.ops.compare import SecretCheck
from ixidir.directory.ops.lookup import Shape
from ixidir.directory.ops.password import PasswordChange
from ixidir.directory.ops.selection import Selected
from ixidir.directory.passwords import Cleartext, PasswordPolicy, SecretHashes
from ixidir.directory.pins import PinCheck, PinResult
from ixidir.directory.requests import (
    ANONYMOUS,
    AccessClass,
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Principal,
    Scope,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.state import PreparedWrite
from ixidir.errors import (
    EntryAlreadyExists,
    InsufficientAccessRights,
    InvalidCredentials,
    NoSuchObject,
    SizeLimitExceeded,
    UnwillingToPerform,
)

BASE = "dc=example,dc=com"
ADMIN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = b"secret"
BOOM_DN = f"cn=boom,{BASE}"  # deleting it raises an unexpected (non-LDAP) error
LEAKY_SECRET = "do-not-leak: /var/lib/ixidir/db password=hunter2"

Attributes = dict[str, list[bytes]]
_NOTHING = PreparedWrite(puts=(), deleted=(), writes=())
_CHEAP = PasswordPolicy(iterations=1)


class FakeDirectory:
    def __init__(self, people: int = 3) -> None:
        self.entries: dict[str, Attributes] = {
            BASE: {"objectClass": [b"domain"], "dc": [b"example"]}
        }
        for index in range(people):
            uid = f"user{index}"
            self.entries[f"uid={uid},{BASE}"] = {
                "objectClass": [b"inetOrgPerson"],
                "uid": [uid.encode()],
                "cn": [f"User {index}".encode()],
            }
        self.passwords = {ADMIN: ADMIN_PASSWORD}
        self.sequence = 0  # the changelog sequence applied (freshness tests set it)

    def bind(self, dn: str, password: bytes) -> Principal:
        if not dn and not password:
            return ANONYMOUS
        if not password:
            raise UnwillingToPerform("unauthenticated bind")
        if self.passwords.get(dn.lower()) != password:
            raise InvalidCredentials("invalid credentials")
        return Principal(dn, AccessClass.ADMIN)

    def routing_shape(self, principal: Principal, request: SearchRequest) -> Shape | None:
        """No routing look-up: every search takes the general path."""
        return None

    def is_number_attribute(self, attr: str) -> bool:
        return False

    def find(self, shape: Shape, value: bytes) -> tuple[Entry, ...] | None:
        raise AssertionError("routing_shape never gives a shape here")

    def present(self, shape: Shape, entry: Entry) -> Selected:
        raise AssertionError("routing_shape never gives a shape here")

    def begin_bind(self, dn: str, password: bytes) -> Principal | BindCheck:
        return self.bind(dn, password)  # nothing to hash: plain passwords

    def finish_bind(self, check: BindCheck, matched: bytes | None) -> Principal:
        raise NotImplementedError  # begin_bind never asks for a check

    def cleartext_secrets(self, request: AddRequest | ModifyRequest) -> Cleartext | None:
        return None  # the fake stores passwords as they come

    # The fake writes at once while "preparing"; what it prepares commits nothing.
    def prepare_add(
        self, principal: Principal, request: AddRequest, hashes: SecretHashes | None = None
    ) -> PreparedWrite:
        self.add(principal, request)
        return _NOTHING

    def prepare_modify(
        self, principal: Principal, request: ModifyRequest, hashes: SecretHashes | None = None
    ) -> PreparedWrite:
        self.modify(principal, request)
        return _NOTHING

    def prepare_delete(self, principal: Principal, dn: str) -> PreparedWrite:
        self.delete(principal, dn)
        return _NOTHING

    def prepare_modify_dn(self, principal: Principal, request: ModifyDNRequest) -> PreparedWrite:
        self.modify_dn(principal, request)
        return _NOTHING

    def write_prepared(self, prepared: PreparedWrite) -> None:
        return

    def begin_password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> PasswordChange:
        generated = self.password_modify(principal, user, old, new)
        password = new if new is not None else generated or b""
        return PasswordChange(user or principal.dn, password, generated, _CHEAP)

    def prepare_password(
        self, principal: Principal, change: PasswordChange, hashed: bytes
    ) -> PreparedWrite:
        return _NOTHING

    def search(
        self,
        principal: Principal,
        request: SearchRequest,
        *,
        now: Callable[[], float] | None = None,
    ) -> Iterator[SearchResultEntry]:
        if request.base.lower() not in self.entries:
            raise NoSuchObject("no such base", matched_dn=BASE)
        sent = 0
        for dn, attributes in list(self.entries.items()):
            if not _in_scope(dn, request.base.lower(), request.scope):
                continue
            if not _matches(request.filter, attributes):
                continue
            if request.size_limit and sent == request.size_limit:
                raise SizeLimitExceeded("size limit exceeded")
            sent += 1
            wanted = {a.lower() for a in request.attributes}
            shown = tuple(
                (name, () if request.types_only else tuple(values))
                for name, values in attributes.items()
                if not wanted or "*" in wanted or name.lower() in wanted
            )
            yield SearchResultEntry(dn, shown)

    def compare(self, principal: Principal, dn: str, attr: str, value: bytes) -> bool:
        return value in self._entry(dn).get(attr, [])

    def begin_compare(
        self, principal: Principal, dn: str, attr: str, value: bytes
    ) -> bool | PinCheck | SecretCheck:
        return self.compare(principal, dn, attr, value)  # no secrets to hash in the fake

    def begin_verify_pin(
        self, principal: Principal, user_dn: str, pin: bytes
    ) -> PinResult | PinCheck:
        raise NotImplementedError  # the fake keeps no PINs

    def settle_pin(self, check: PinCheck, matched: bool) -> tuple[PinResult, Entry | None]:
        raise NotImplementedError

    def prepare_puts(self, entries: Sequence[Entry]) -> PreparedWrite:
        raise NotImplementedError

    def add(self, principal: Principal, request: AddRequest) -> None:
        self._require_admin(principal)
        if request.dn.lower() in self.entries:
            raise EntryAlreadyExists("entry already exists")
        self.entries[request.dn.lower()] = {name: list(vals) for name, vals in request.attributes}

    def modify(self, principal: Principal, request: ModifyRequest) -> None:
        self._require_admin(principal)
        entry = self._entry(request.dn)
        for change in request.changes:
            if change.operation is ModOp.REPLACE:
                entry[change.attr] = list(change.values)
            elif change.operation is ModOp.ADD:
                entry.setdefault(change.attr, []).extend(change.values)
            else:
                entry.pop(change.attr, None)

    def delete(self, principal: Principal, dn: str) -> None:
        self._require_admin(principal)
        if dn.lower() == BOOM_DN:
            raise RuntimeError(LEAKY_SECRET)
        self._entry(dn)
        del self.entries[dn.lower()]

    def modify_dn(self, principal: Principal, request: ModifyDNRequest) -> None:
        self._require_admin(principal)
        entry = self.entries.pop(self._key(request.dn))
        parent = request.new_superior or request.dn.split(",", 1)[1]
        self.entries[f"{request.new_rdn},{parent}".lower()] = entry

    def password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> bytes | None:
        target = (user or principal.dn).lower()
        if principal is ANONYMOUS or not target:
            raise UnwillingToPerform("bind first")
        self.passwords[target] = new if new is not None else b"generated-pw"
        return None if new is not None else b"generated-pw"

    @property
    def generation(self) -> int:
        """Never changes: the fake's tests don't write through the fast path's cache."""
        return 0

    @property
    def layout(self) -> int:
        return 0

    def who_am_i(self, principal: Principal) -> str:
        return f"dn:{principal.dn}" if principal.dn else ""

    def _key(self, dn: str) -> str:
        if dn.lower() not in self.entries:
            raise NoSuchObject("no such object", matched_dn=BASE)
        return dn.lower()

    def _entry(self, dn: str) -> Attributes:
        return self.entries[self._key(dn)]

    @staticmethod
    def _require_admin(principal: Principal) -> None:
        if not principal.is_admin:
            raise InsufficientAccessRights("insufficient access")


def _in_scope(dn: str, base: str, scope: Scope) -> bool:
    if scope is Scope.BASE:
        return dn == base
    if scope is Scope.ONE:
        return dn.endswith("," + base) and "," not in dn[: -len(base) - 1]
    return dn == base or dn.endswith("," + base)


def _matches(f: flt.Filter, attributes: Attributes) -> bool:
    lowered = {name.lower(): values for name, values in attributes.items()}
    match f:
        case flt.Present(attr):
            return attr.lower() in lowered
        case flt.Equality(attr, value):
            return value.lower() in [v.lower() for v in lowered.get(attr.lower(), [])]
        case flt.And(filters):
            return all(_matches(sub, attributes) for sub in filters)
    return False
