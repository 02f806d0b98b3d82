"""One number, one user across processes: the store's routing keys refuse what memory missed.

Two Directory objects on one real Firebird database stand for two server workers (or a worker
and the CLI): the second has not followed the first's change yet, so only the database knows
that the number is taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from directory.tree import (
    ADMIN,
    BASE,
    BOB,
    PEOPLE,
    TickingClock,
    default_settings,
    make_directory,
    person,
)
from directory.tree import populate as populate_tree
from ixidir.directory.directory import Directory
from ixidir.directory.ops.add import BatchError
from ixidir.directory.ports import EntryStore
from ixidir.directory.requests import AddRequest, Modification, ModifyRequest, ModOp
from ixidir.errors import ConstraintViolation
from ixidir.schema import load_default_schema
from ixidir.storage import FirebirdEntryStore, open_entry_store
from ixidir.storage.embedded import prepare_embedded_runtime, runtime_root

CAROL = f"uid=carol,{PEOPLE}"
DAVE = f"uid=dave,{PEOPLE}"
FAX = "facsimileTelephoneNumber"


@pytest.fixture(scope="module")
def firebird_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This process's Firebird root: the one already loaded (one per process), else a new one."""
    return runtime_root() or prepare_embedded_runtime(tmp_path_factory.mktemp("fb") / "root")


@pytest.fixture
def stores(tmp_path: Path, firebird_root: Path) -> Iterator[tuple[FirebirdEntryStore, ...]]:
    data = tmp_path / "data"
    with (
        open_entry_store(data, None, create=True, runtime_root=firebird_root) as first,
        open_entry_store(data, None, create=False, runtime_root=firebird_root) as second,
    ):
        yield first, second


def _other_process(store: EntryStore) -> Directory:
    """A second directory on the same database, with its own entryUUIDs."""
    directory = Directory(
        schema=load_default_schema(),
        store=store,
        base_dn=BASE,
        settings=default_settings(),
        clock=TickingClock(),
        new_uuid=lambda: str(uuid.uuid4()),
    )
    directory.load()
    return directory


@pytest.fixture
def pair(stores: tuple[FirebirdEntryStore, ...]) -> tuple[Directory, Directory]:
    """Both loaded from the same tree; then the first gives carol a number the second has not
    seen (it does not follow the changelog here)."""
    first = make_directory(stores[0])
    populate_tree(first)
    second = _other_process(stores[1])
    first.add(ADMIN, AddRequest(CAROL, person("carol", **{FAX: (b"+49 (8142) 4799-123",)})))
    return first, second


def _uids_in_store(store: FirebirdEntryStore) -> set[str]:
    return {entry.dn.split(",")[0] for entry in store.load()}


def test_an_add_of_a_number_another_process_gave_away_names_the_holder(
    pair: tuple[Directory, Directory], stores: tuple[FirebirdEntryStore, ...]
) -> None:
    _, second = pair
    before = stores[1].last_sequence()
    dave = AddRequest(DAVE, person("dave", **{FAX: (b"+49 8142 4799123",)}))
    with pytest.raises(ConstraintViolation, match=r"\+4981424799123 already routes to uid=carol"):
        second.add(ADMIN, dave)
    assert stores[1].last_sequence() == before
    assert "uid=dave" not in _uids_in_store(stores[1])
    assert second.route("+4981424799123") is None


def test_a_modify_that_takes_the_number_is_refused_too(
    pair: tuple[Directory, Directory], stores: tuple[FirebirdEntryStore, ...]
) -> None:
    _, second = pair
    take = Modification(ModOp.REPLACE, FAX, (b"+4981424799123",))
    with pytest.raises(ConstraintViolation, match="uid=carol"):
        second.modify(ADMIN, ModifyRequest(BOB, (take,)))
    (bob,) = (entry for entry in stores[1].load() if entry.dn == BOB)
    assert FAX not in bob.attributes


def test_an_import_with_the_number_writes_nothing(
    pair: tuple[Directory, Directory], stores: tuple[FirebirdEntryStore, ...]
) -> None:
    _, second = pair
    erin = AddRequest(f"uid=erin,{PEOPLE}", person("erin", **{FAX: (b"+49 8142 4799 200",)}))
    dave = AddRequest(DAVE, person("dave", **{FAX: (b"0049 8142 4799123",)}))
    with pytest.raises(BatchError) as raised:
        second.add_many(ADMIN, [erin, dave])
    assert isinstance(raised.value.error, ConstraintViolation)
    assert "uid=carol" in str(raised.value.error)
    assert _uids_in_store(stores[1]).isdisjoint({"uid=erin", "uid=dave"})


def test_a_number_the_holder_gave_up_can_be_taken_by_another_process(
    pair: tuple[Directory, Directory],
) -> None:
    first, second = pair
    drop = Modification(ModOp.DELETE, FAX, ())
    first.modify(ADMIN, ModifyRequest(CAROL, (drop,)))
    second.add(ADMIN, AddRequest(DAVE, person("dave", **{FAX: (b"+49 8142 4799123",)})))
    routed = second.route("+49 8142 4799-123")
    assert routed is not None
    assert str(routed.dn) == DAVE


DEFAULTS = f"cn=ums-defaults,{BASE}"


def test_new_site_settings_rekey_the_stored_numbers_in_the_same_change(
    stores: tuple[FirebirdEntryStore, ...],
) -> None:
    """carol's number is stored in local form: it is +49 8142 4799123 while the site is 8142,
    +49 30 4799123 once the site is Berlin. The store's keys follow in the site change: the
    old number is free for another process to take, the new one is carol's."""
    first = make_directory(stores[0])
    populate_tree(first)
    site = (
        ("objectClass", (b"applicationProcess", b"ixiUmsServerDefaults")),
        ("ixiSiteCountryCode", (b"49",)),
        ("ixiSiteAreaCode", (b"8142",)),
    )
    first.add(ADMIN, AddRequest(DEFAULTS, site))
    first.add(ADMIN, AddRequest(CAROL, person("carol", **{FAX: (b"4799123",)})))
    berlin = Modification(ModOp.REPLACE, "ixiSiteAreaCode", (b"30",))
    first.modify(ADMIN, ModifyRequest(DEFAULTS, (berlin,)))
    routed = first.route("+49304799123")
    assert routed is not None
    assert str(routed.dn) == CAROL
    second = _other_process(stores[1])
    second.add(ADMIN, AddRequest(DAVE, person("dave", **{FAX: (b"+49 8142 4799123",)})))
    erin = AddRequest(f"uid=erin,{PEOPLE}", person("erin", **{FAX: (b"+49 30 4799123",)}))
    with pytest.raises(ConstraintViolation, match="uid=carol"):
        first.add(ADMIN, erin)


def test_an_import_refused_by_the_database_names_the_entry_with_the_number(
    pair: tuple[Directory, Directory],
) -> None:
    """Memory does not know carol holds the number, so only the database refuses: the error
    still points at dave, the first entry of the batch, not at the last one."""
    _, second = pair
    dave = AddRequest(DAVE, person("dave", **{FAX: (b"0049 8142 4799123",)}))
    erin = AddRequest(f"uid=erin,{PEOPLE}", person("erin", **{FAX: (b"+49 8142 4799 200",)}))
    with pytest.raises(BatchError) as raised:
        second.add_many(ADMIN, [dave, erin])
    assert raised.value.index == 0
