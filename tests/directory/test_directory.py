"""The facade over a store: reload gives the same DIT; followers apply changes idempotently."""

from __future__ import annotations

from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, ALICE, BASE, PEOPLE, make_directory, person
from ixidir.directory.directory import Directory
from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
)


def snapshot(directory: Directory) -> dict[str, tuple[tuple[str, tuple[bytes, ...]], ...]]:
    request = SearchRequest(BASE, Scope.SUB, attributes=("*", "+"))
    return {entry.dn: tuple(sorted(entry.attributes)) for entry in directory.search(ADMIN, request)}


def write_some(directory: Directory) -> None:
    directory.add(ADMIN, AddRequest(f"uid=carol,{PEOPLE}", person("carol")))
    directory.modify(ADMIN, ModifyRequest(ALICE, (Modification(ModOp.REPLACE, "sn", (b"New",)),)))
    directory.modify_dn(ADMIN, ModifyDNRequest(PEOPLE, "ou=persons", True))
    directory.delete(ADMIN, f"uid=bob,ou=persons,{BASE}")


def test_reload_gives_same_tree(directory: Directory, store: MemoryEntryStore) -> None:
    write_some(directory)
    reloaded = make_directory(store)
    counts = reloaded.load()
    assert counts.entries == 6
    assert counts.sequence == store.last_sequence()
    assert snapshot(reloaded) == snapshot(directory)


def test_follower_catches_up_idempotently(directory: Directory, store: MemoryEntryStore) -> None:
    follower = make_directory(store)
    follower.load()
    seen = follower.sequence
    write_some(directory)
    changes = store.changes_since(seen)
    assert follower.apply_changes(changes) == len(changes)
    assert follower.apply_changes(changes) == 0
    assert snapshot(follower) == snapshot(directory)
