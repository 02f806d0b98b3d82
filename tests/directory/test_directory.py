"""The facade over a store: reload gives the same DIT; followers apply changes idempotently."""

from __future__ import annotations

from collections.abc import Callable

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

from .test_numbers import DEFAULTS, site_defaults


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


def test_the_layout_changes_with_adds_deletes_renames_and_site_settings_only(
    directory: Directory, store: MemoryEntryStore
) -> None:
    """Search plans and routing shapes are kept per layout: a modify of a user keeps it, in
    the writing process and in a follower alike."""
    follower = make_directory(store)
    follower.load()
    sn = Modification(ModOp.REPLACE, "sn", (b"New",))
    area = Modification(ModOp.REPLACE, "ixiSiteAreaCode", (b"89",))
    writes: list[tuple[bool, Callable[[], object]]] = [
        (False, lambda: directory.modify(ADMIN, ModifyRequest(ALICE, (sn,)))),
        (True, lambda: directory.add(ADMIN, AddRequest(f"uid=carol,{PEOPLE}", person("carol")))),
        (True, lambda: directory.modify_dn(ADMIN, ModifyDNRequest(PEOPLE, "ou=persons", True))),
        (True, lambda: directory.delete(ADMIN, f"uid=bob,ou=persons,{BASE}")),
        (True, lambda: directory.add(ADMIN, site_defaults())),
        (True, lambda: directory.modify(ADMIN, ModifyRequest(DEFAULTS, (area,)))),
    ]
    for relaid, write in writes:
        before = [(d.layout, d.generation) for d in (directory, follower)]
        write()
        follower.apply_changes(store.changes_since(follower.sequence))
        after = [(d.layout, d.generation) for d in (directory, follower)]
        for (layout, generation), (new_layout, new_generation) in zip(before, after, strict=True):
            assert new_generation == generation + 1
            assert (new_layout != layout) is relaid
