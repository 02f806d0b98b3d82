"""Memory images: a restored image plus the changes since equals a load from the store."""

from __future__ import annotations

import marshal
from typing import Any

import pytest

from ixidir.directory.directory import Directory
from ixidir.directory.filter import Equality, Present
from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
)

from .memory_store import MemoryEntryStore
from .test_numbers import CAROL, DAVE, another_process_writes, fax, site_defaults
from .tree import ADMIN, BASE, make_directory, person


def state_of(directory: Directory) -> dict[str, Any]:
    """Everything a load builds, in comparable form (entries by value, not identity)."""
    image = directory.capture_image()
    image["entries"] = sorted(image["entries"])
    return image


def through_disk(image: dict[str, Any]) -> Any:
    return marshal.loads(marshal.dumps(image))  # noqa: S302 (our own bytes)


def search(directory: Directory, f: Equality | Present) -> list[str]:
    request = SearchRequest(BASE, Scope.SUB, f, attributes=("mail",))
    return sorted(entry.dn for entry in directory.search(ADMIN, request))


@pytest.fixture
def routed(directory: Directory) -> Directory:
    directory.add(ADMIN, site_defaults())
    directory.add(ADMIN, AddRequest(CAROL, person("carol", **fax(b"+49 (8142) 4799-123"))))
    another_process_writes(directory, "dave", (b"+49 8142 4799123", b"not a number"))
    return directory


def test_a_restored_image_equals_a_load_from_the_store(
    routed: Directory, store: MemoryEntryStore
) -> None:
    image = through_disk(routed.capture_image())
    restored = make_directory(store)
    counts = restored.restore_image(image)
    loaded = make_directory(store)
    loaded.load()
    assert counts.entries == len(image["entries"])
    assert restored.sequence == routed.sequence
    assert state_of(restored) == state_of(routed)
    assert len(state_of(restored)["irregular"]) == 1  # dave: a number carol holds, and junk
    assert state_of(restored)["values"] == state_of(loaded)["values"]
    assert state_of(restored)["owners"] == state_of(loaded)["owners"]


def test_a_restored_directory_answers_like_the_original(routed: Directory) -> None:
    store = routed.state.store
    assert isinstance(store, MemoryEntryStore)
    restored = make_directory(store)
    restored.restore_image(through_disk(routed.capture_image()))
    for f in (
        Equality("facsimileTelephoneNumber", b"08142 4799-123"),
        Equality("facsimileTelephoneNumber", b"not a number"),
        Equality("mail", b"CAROL@example.com"),
        Present("objectClass"),
    ):
        assert search(restored, f) == search(routed, f)
    entry = restored.route("0049 8142 4799123")
    assert entry is not None
    assert str(entry.dn) == CAROL  # the first holder keeps the number, as before
    assert search(restored, Equality("facsimileTelephoneNumber", b"+4981424799123")) == [
        CAROL,
        DAVE,
    ]


def test_changes_after_the_image_are_replayed_to_the_store_state(
    routed: Directory, store: MemoryEntryStore
) -> None:
    image = through_disk(routed.capture_image())
    routed.modify(
        ADMIN,
        ModifyRequest(
            CAROL,
            (Modification(ModOp.REPLACE, "facsimileTelephoneNumber", (b"+49 8142 4799200",)),),
        ),
    )
    routed.delete(ADMIN, DAVE)
    restored = make_directory(store)
    restored.restore_image(image)
    restored.state.apply_changes(store.changes_since(restored.sequence))
    loaded = make_directory(store)
    loaded.load()
    assert state_of(restored)["entries"] == state_of(loaded)["entries"]
    assert state_of(restored)["owners"] == state_of(loaded)["owners"]
    assert state_of(restored)["values"] == state_of(loaded)["values"]
    assert state_of(restored)["irregular"] == set()
    entry = restored.route("+4981424799200")
    assert entry is not None
    assert str(entry.dn) == CAROL


def test_an_image_of_another_format_is_refused(routed: Directory, store: MemoryEntryStore) -> None:
    image = routed.capture_image()
    image["format"] = 99
    with pytest.raises(ValueError, match="format"):
        make_directory(store).restore_image(image)
