"""Value lists that repeat across entries are held once: by writes, loads and images alike."""

from __future__ import annotations

import marshal

import pytest

from ixidir.directory import sharing
from ixidir.directory.directory import Directory
from ixidir.directory.dit import Entry
from ixidir.directory.requests import AddRequest
from ixidir.directory.sharing import SharedValues
from ixidir.schema import load_default_schema

from .memory_store import MemoryEntryStore
from .tree import ADMIN, PEOPLE, make_directory, person

SCHEMA = load_default_schema()


def entry(directory: Directory, uid: str) -> Entry:
    found = directory.state.dit.get(directory.state.parse_dn(f"uid={uid},{PEOPLE}")[1])
    assert found is not None
    return found


def fresh(*values: bytes) -> tuple[bytes, ...]:
    """A new tuple object (equal literals in one function are one constant)."""
    return tuple(list(values))


def test_the_repeating_attributes_come_from_their_names_and_syntaxes() -> None:
    names = SharedValues.for_schema(SCHEMA)._names
    assert {"objectClass", "creatorsName", "createTimestamp"} <= names
    assert "ixiForceCoverPage" in names  # Boolean
    assert "ixiFaxMaxPages" in names  # Integer
    assert not {"cn", "mail", "uid", "userPassword", "facsimileTelephoneNumber"} & names


def test_equal_value_lists_become_one_object_and_others_stay_as_they_are() -> None:
    shared = SharedValues(frozenset({"objectClass"}))
    first = shared.shared_copy({"objectClass": fresh(b"person"), "cn": fresh(b"a")})
    second = shared.shared_copy({"objectClass": fresh(b"person"), "cn": fresh(b"a")})
    assert second["objectClass"] is first["objectClass"]
    assert second["cn"] is not first["cn"]
    assert second == {"objectClass": (b"person",), "cn": (b"a",)}


def test_past_the_limit_new_lists_are_kept_by_their_entries_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sharing, "MAX_SHARED", 2)
    shared = SharedValues(frozenset({"sn"}))
    for name in (b"a", b"b", b"c"):
        shared.shared_copy({"sn": fresh(name)})
    late = shared.shared_copy({"sn": fresh(b"c")})
    assert late["sn"] is not shared.shared_copy({"sn": fresh(b"c")})["sn"]
    assert (
        shared.shared_copy({"sn": fresh(b"a")})["sn"]
        is shared.shared_copy({"sn": fresh(b"a")})["sn"]
    )


def test_writes_loads_and_images_share_the_lists(
    directory: Directory, store: MemoryEntryStore
) -> None:
    written = directory
    for uid in ("xavier", "yvonne"):
        written.add(ADMIN, AddRequest(f"uid={uid},{PEOPLE}", person(uid)))
    alice, bob = entry(written, "xavier"), entry(written, "yvonne")
    assert alice.attributes["objectClass"] is bob.attributes["objectClass"]
    assert alice.attributes["creatorsName"] is bob.attributes["creatorsName"]

    loaded = make_directory(store)
    loaded.load()
    alice, bob = entry(loaded, "xavier"), entry(loaded, "yvonne")
    assert alice.attributes["objectClass"] is bob.attributes["objectClass"]
    assert alice.dn_key is alice.dn_text  # written in key form: one string for both

    restored = make_directory(store)
    restored.restore_image(marshal.loads(marshal.dumps(loaded.capture_image())))  # noqa: S302
    alice, bob = entry(restored, "xavier"), entry(restored, "yvonne")
    assert alice.attributes["objectClass"] is bob.attributes["objectClass"]
