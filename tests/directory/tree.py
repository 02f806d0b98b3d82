"""The test tree and a Directory factory over the in-memory EntryStore.

The tree: dc=example,dc=com (admin-created suffix), ou=people, the admin entry, a user
(uid=alice), a second user (uid=bob) and a service account (cn=connector). Password hashing uses
few iterations here: tests check behaviour, and the default costs ~270 ms a hash.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from ixidir.directory.directory import Directory, DirectorySettings
from ixidir.directory.ports import EntryStore
from ixidir.directory.requests import AccessClass, AddRequest, Principal, Scope, SearchRequest
from ixidir.schema import Schema, load_default_schema

BASE = "dc=example,dc=com"
PEOPLE = f"ou=people,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
ALICE = f"uid=alice,{PEOPLE}"
BOB = f"uid=bob,{PEOPLE}"
CONNECTOR = f"cn=connector,{BASE}"
ADMIN = Principal(ADMIN_DN, AccessClass.ADMIN)
ALICE_P = Principal(ALICE, AccessClass.USER)
BOB_P = Principal(BOB, AccessClass.USER)
SERVICE = Principal(CONNECTOR, AccessClass.SERVICE)
PASSWORDS = {ADMIN_DN: b"admin-secret", ALICE: b"alice-secret", BOB: b"bob-secret"}
PASSWORDS[CONNECTOR] = b"connector-secret"
FAST_ITERATIONS = 1000


class TickingClock:
    """A fake clock: every call is one second after the previous one."""

    def __init__(self) -> None:
        self.moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def person(uid: str, **extra: tuple[bytes, ...]) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    attrs: dict[str, tuple[bytes, ...]] = {
        "objectClass": (b"inetOrgPerson",),
        "cn": (uid.title().encode(),),
        "sn": (b"Example",),
        "mail": (f"{uid}@example.com".encode(),),
        "userPassword": (PASSWORDS.get(f"uid={uid},{PEOPLE}", b"pw"),),
    }
    attrs.update(extra)
    return tuple(attrs.items())


def make_directory(
    store: EntryStore, settings: DirectorySettings | None = None, schema: Schema | None = None
) -> Directory:
    counter = itertools.count(1)
    return Directory(
        schema=schema or load_default_schema(),
        store=store,
        base_dn=BASE,
        settings=settings or default_settings(),
        clock=TickingClock(),
        new_uuid=lambda: str(uuid.UUID(int=next(counter) + (1 << 64))),
    )


def default_settings(**overrides: object) -> DirectorySettings:
    values: dict[str, object] = {
        "service_accounts": (CONNECTOR,),
        "password_iterations": FAST_ITERATIONS,
        "pin_iterations": FAST_ITERATIONS,
    }
    values.update(overrides)
    return DirectorySettings(**values)  # type: ignore[arg-type]


def populate(directory: Directory) -> None:
    directory.add(ADMIN, AddRequest(BASE, (("objectClass", (b"domain",)), ("dc", (b"example",)))))
    directory.add(ADMIN, AddRequest(PEOPLE, (("objectClass", (b"organizationalUnit",)),)))
    admin_attrs = (
        ("objectClass", (b"organizationalRole", b"simpleSecurityObject")),
        ("userPassword", (PASSWORDS[ADMIN_DN],)),
    )
    directory.add(ADMIN, AddRequest(ADMIN_DN, admin_attrs))
    connector = (
        ("objectClass", (b"applicationProcess", b"simpleSecurityObject")),
        ("userPassword", (PASSWORDS[CONNECTOR],)),
    )
    directory.add(ADMIN, AddRequest(CONNECTOR, connector))
    directory.add(ADMIN, AddRequest(ALICE, person("alice", telephoneNumber=(b"+49 8142 1",))))
    directory.add(ADMIN, AddRequest(BOB, person("bob")))


def read(directory: Directory, dn: str) -> dict[str, tuple[bytes, ...]]:
    """Every attribute of one entry, as the admin sees it (`*` and `+`)."""
    request = SearchRequest(dn, Scope.BASE, attributes=("*", "+"))
    (entry,) = directory.search(ADMIN, request)
    return dict(entry.attributes)
