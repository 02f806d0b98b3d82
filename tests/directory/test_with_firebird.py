"""The directory over the real embedded Firebird store: writes persist and reload identically."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from directory.tree import ADMIN, ALICE, PASSWORDS, PEOPLE, make_directory, populate, read
from ixidir.directory.requests import (
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
)
from ixidir.errors import NoSuchAttribute
from ixidir.storage import FirebirdEntryStore, open_entry_store
from ixidir.storage.embedded import prepare_embedded_runtime, runtime_root


@pytest.fixture(scope="module")
def firebird_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This process's Firebird root: the one already loaded (one per process), else a new one."""
    return runtime_root() or prepare_embedded_runtime(tmp_path_factory.mktemp("fb") / "root")


@pytest.fixture
def firebird(tmp_path: Path, firebird_root: Path) -> Iterator[FirebirdEntryStore]:
    with open_entry_store(tmp_path / "data", None, create=True, runtime_root=firebird_root) as s:
        yield s


def test_writes_survive_a_reload(firebird: FirebirdEntryStore) -> None:
    directory = make_directory(firebird)
    populate(directory)
    directory.modify(ADMIN, ModifyRequest(ALICE, (Modification(ModOp.REPLACE, "sn", (b"Fb",)),)))
    directory.modify_dn(ADMIN, ModifyDNRequest(PEOPLE, "ou=persons", True))
    reloaded = make_directory(firebird)
    assert reloaded.load().entries == 6
    moved = "uid=alice,ou=persons,dc=example,dc=com"
    assert read(reloaded, moved) == read(directory, moved)
    assert read(reloaded, moved)["sn"] == (b"Fb",)
    assert reloaded.bind(moved, PASSWORDS[ALICE]).dn == moved
    everything = SearchRequest("dc=example,dc=com", Scope.SUB, attributes=("1.1",))
    assert len(list(reloaded.search(ADMIN, everything))) == 6


def test_failed_modify_leaves_store_unchanged(firebird: FirebirdEntryStore) -> None:
    directory = make_directory(firebird)
    populate(directory)
    before = firebird.last_sequence()
    bad = (
        Modification(ModOp.REPLACE, "sn", (b"Changed",)),
        Modification(ModOp.DELETE, "description", (b"missing",)),
    )
    with pytest.raises(NoSuchAttribute):
        directory.modify(ADMIN, ModifyRequest(ALICE, bad))
    assert firebird.last_sequence() == before
    reloaded = make_directory(firebird)
    reloaded.load()
    assert read(reloaded, ALICE)["sn"] == (b"Example",)
