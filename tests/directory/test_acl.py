"""Read access per access class; secrets only for the admin; hidden attributes hide from filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN,
    ALICE,
    ALICE_P,
    BASE,
    BOB,
    PEOPLE,
    SERVICE,
    default_settings,
    make_directory,
    person,
    populate,
)
from ixidir.directory import requests as rq
from ixidir.directory.directory import Directory
from ixidir.directory.filter import Equality, Present
from ixidir.directory.requests import ANONYMOUS, Principal, Scope, SearchRequest
from ixidir.errors import InsufficientAccessRights, NoSuchObject, StrongerAuthRequired


def visible(directory: Directory, who: Principal) -> dict[str, set[str]]:
    request = SearchRequest(BASE, Scope.SUB, attributes=("*",))
    return {e.dn: {name for name, _ in e.attributes} for e in directory.search(who, request)}


def test_admin_sees_everything_including_hashes(directory: Directory) -> None:
    seen = visible(directory, ADMIN)
    assert len(seen) == 6
    assert "userPassword" in seen[ALICE]


def test_service_sees_every_entry_without_secrets(directory: Directory) -> None:
    seen = visible(directory, SERVICE)
    assert len(seen) == 6
    assert all("userPassword" not in attrs for attrs in seen.values())


def test_user_sees_only_itself_without_secrets(directory: Directory) -> None:
    seen = visible(directory, ALICE_P)
    assert set(seen) == {ALICE}
    assert "userPassword" not in seen[ALICE]
    assert "mail" in seen[ALICE]


def test_anonymous_sees_nothing_by_default(directory: Directory) -> None:
    with pytest.raises(NoSuchObject):
        visible(directory, ANONYMOUS)
    with pytest.raises(NoSuchObject) as info:
        list(directory.search(ANONYMOUS, SearchRequest(ALICE, Scope.BASE)))
    assert info.value.matched_dn == ""


def test_anonymous_read_setting(store: MemoryEntryStore) -> None:
    directory = make_directory(store, default_settings(anonymous_read=True))
    populate(directory)
    seen = visible(directory, ANONYMOUS)
    assert len(seen) == 6
    assert "userPassword" not in seen[ALICE]
    assert BOB in visible(directory, ALICE_P)  # a user never sees less than anonymous


def test_hidden_attribute_is_invisible_to_the_filter(directory: Directory) -> None:
    by_presence = SearchRequest(ALICE, Scope.BASE, Present("userPassword"))
    assert list(directory.search(SERVICE, by_presence)) == []
    assert len(list(directory.search(ADMIN, by_presence))) == 1
    hashed = next(
        iter(
            directory.search(ADMIN, SearchRequest(ALICE, Scope.BASE, attributes=("userPassword",)))
        )
    )
    value = hashed.attributes[0][1][0]
    by_value = SearchRequest(BASE, Scope.SUB, Equality("userPassword", value))
    assert list(directory.search(SERVICE, by_value)) == []


def test_anonymous_writes_are_stronger_auth_required(directory: Directory) -> None:
    """As slapd: an anonymous write is told to bind (8), a bound one without the right is
    insufficientAccessRights (50)."""
    mail = rq.Modification(rq.ModOp.REPLACE, "mail", (b"x@example.com",))
    writes: list[Callable[[Principal], object]] = [
        lambda who: directory.add(who, rq.AddRequest(f"uid=zed,{PEOPLE}", person("zed"))),
        lambda who: directory.modify(who, rq.ModifyRequest(ALICE, (mail,))),
        lambda who: directory.delete(who, BOB),
        lambda who: directory.modify_dn(who, rq.ModifyDNRequest(BOB, "uid=bobby", True)),
    ]
    for write in writes:
        with pytest.raises(StrongerAuthRequired, match="bind first"):
            write(ANONYMOUS)
        with pytest.raises(InsufficientAccessRights):
            write(SERVICE)
