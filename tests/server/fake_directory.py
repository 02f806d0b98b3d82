"""A minimal in-memory stand-in for `ixidir.directory.directory.Directory`.

`test_protocol_directory.py` drives the real directory, which offers every operation. This fake
stays for what the real one cannot show cheaply: a DN whose delete fails with an unexpected
exception (the `other` (80) path, with a secret in the message that must not leak) and large
result sets for streaming tests, without building thousands of entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ixidir.directory import filter as flt
from ixidir.directory.dit import Entry
from ixidir.directory.ops.lookup import Found
from ixidir.directory.ops.selection import Selected
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

    def lookup(self, principal: Principal, request: SearchRequest) -> Found | None:
        """No routing look-up: every search takes the general path."""
        return None

    def present(self, found: Found, entry: Entry) -> Selected:
        raise AssertionError("lookup never finds anything here")

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
