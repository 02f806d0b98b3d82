"""Read access per access class; secrets only for the admin; hidden attributes hide from filters."""

from __future__ import annotations

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN,
    ALICE,
    ALICE_P,
    BASE,
    BOB,
    SERVICE,
    default_settings,
    make_directory,
    populate,
)
from ixidir.directory.directory import Directory
from ixidir.directory.filter import Equality, Present
from ixidir.directory.requests import ANONYMOUS, Principal, Scope, SearchRequest
from ixidir.errors import NoSuchObject


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
