"""Warm start on a real data directory: the snapshot is used only when it fits, and a
directory from it (plus the changes since) equals one loaded from Firebird."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from integration.conftest import init_data_dir

from ixidir.admin import warmstart
from ixidir.admin.runtime import build_directory, opened
from ixidir.admin.warmstart import Loaded, load_directory, save_snapshot, snapshot_path
from ixidir.config import load_config
from ixidir.directory.requests import AddRequest
from ixidir.storage.embedded import runtime_root

PEOPLE = "ou=people,dc=example,dc=com"
RUNTIME = "firebird-root"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized data directory with the demo users, copied by each test."""
    data_dir = tmp_path_factory.mktemp("warm") / "data"
    init_data_dir(data_dir)
    return data_dir


def copy_data_dir(source: Path, target: Path, prepared: Path) -> Path:
    """A copy of `source` that uses this process's Firebird runtime (or the prepared
    directory's, if none is loaded yet): a process loads one client library, from one root
    (ixidir.storage.embedded)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(RUNTIME))
    (target / RUNTIME).symlink_to(runtime_root() or prepared / RUNTIME)
    return target


@pytest.fixture
def data_dir(prepared: Path, tmp_path: Path) -> Path:
    """A copy without the snapshot the import left (test_an_import_leaves_a_snapshot)."""
    copy = copy_data_dir(prepared, tmp_path / "data", prepared)
    snapshot_path(copy).unlink()
    return copy


def test_an_import_leaves_a_snapshot_that_fits(prepared: Path, tmp_path: Path) -> None:
    copy = copy_data_dir(prepared, tmp_path / "data", prepared)
    loaded, warm = load(copy)
    assert (loaded.source, loaded.replayed) == ("snapshot", 0)
    snapshot_path(copy).unlink()
    _, cold = load(copy)
    assert warm == cold


def load(data_dir: Path) -> tuple[Loaded, dict[str, Any]]:
    """Load as serve does; returns how, and the memory in comparable form."""
    config = load_config(data_dir)
    with opened(data_dir, load=False) as plain:
        loaded = load_directory(
            data_dir, plain.store, lambda: build_directory(data_dir, config, plain.store)
        )
        image = loaded.directory.capture_image()
    image["entries"] = sorted(image["entries"])
    return loaded, image


def snapshot_of(data_dir: Path) -> None:
    with opened(data_dir) as ready:
        save_snapshot(data_dir, ready.directory, ready.store)


def add_user(data_dir: Path, uid: str, fax: bytes = b"+49 30 5550123") -> None:
    with opened(data_dir) as ready:
        ready.directory.add(ready.admin, user(uid, fax))


def user(uid: str, fax: bytes, *extra: tuple[str, tuple[bytes, ...]]) -> AddRequest:
    attributes = (
        ("objectClass", (b"inetOrgPerson",)),
        ("cn", (uid.encode(),)),
        ("sn", (b"Test",)),
        ("facsimileTelephoneNumber", (fax,)),
        *extra,
    )
    return AddRequest(f"uid={uid},{PEOPLE}", attributes)


def test_without_a_snapshot_the_directory_loads_from_the_store(data_dir: Path) -> None:
    loaded, _ = load(data_dir)
    assert loaded.source == "store"
    assert "no snapshot" in loaded.why_not_snapshot


def test_a_snapshot_gives_the_same_directory_as_the_store(data_dir: Path) -> None:
    _, cold = load(data_dir)
    snapshot_of(data_dir)
    loaded, warm = load(data_dir)
    assert loaded.source == "snapshot"
    assert loaded.replayed == 0
    assert warm == cold


def test_every_kind_of_row_loads_cold_as_it_loads_warm(data_dir: Path) -> None:
    """Rows packed many to a chunk, one alone in a chunk, one too large to pack (storage.bulk);
    entries of several attribute shapes (storage.attributes); fax numbers in written forms."""
    rows = {
        "wide": (("description", (b"w" * 20_000,)),),
        "large": (("jpegPhoto", (bytes(range(256)) * 200,)),),
        "shaped": (("mail", (b"a@example.com", b"b@example.com")), ("title", (b"Dr.",))),
        "jürgen": (("displayName", ("Jürgen Müller".encode(),)),),
    }
    faxes = (b"+49 (0)8142 4799 101", b"+49 (8142) 4799-102", b"08142 4799103", b"+49-30-555")
    with opened(data_dir) as ready:
        for (uid, extra), number in zip(rows.items(), faxes, strict=True):
            ready.directory.add(ready.admin, user(uid, number, *extra))
        written = ready.directory.capture_image()  # memory as the writes left it: no load
        written["entries"] = sorted(written["entries"])
    _, cold = load(data_dir)
    assert _unordered(cold) == _unordered(written)
    snapshot_of(data_dir)
    loaded, warm = load(data_dir)
    assert (loaded.source, loaded.replayed) == ("snapshot", 0)
    assert warm == cold
    assert loaded.directory.route("+49 8142 4799102") is not None


def _unordered(image: dict[str, Any]) -> dict[str, Any]:
    """The image with children as sets: a load adds them in the store's order, not the
    order they were written in."""
    children = {parent: set(keys) for parent, keys in image["children"].items()}
    return {**image, "children": children}


def test_changes_after_the_snapshot_are_replayed(data_dir: Path) -> None:
    snapshot_of(data_dir)
    add_user(data_dir, "late")
    loaded, warm = load(data_dir)
    assert (loaded.source, loaded.replayed) == ("snapshot", 1)
    snapshot_path(data_dir).unlink()
    _, cold = load(data_dir)
    assert warm == cold
    entry = loaded.directory.route("+49 30 5550123")
    assert entry is not None
    assert entry.dn_text == f"uid=late,{PEOPLE}"


def test_a_snapshot_of_another_database_is_not_used(
    data_dir: Path, prepared: Path, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    init_data_dir(fresh, demo=False)
    other = copy_data_dir(fresh, tmp_path / "other", prepared)
    snapshot_of(data_dir)
    shutil.copy(snapshot_path(data_dir), snapshot_path(other))
    loaded, _ = load(other)
    assert loaded.source == "store"
    assert "another database" in loaded.why_not_snapshot


def test_a_snapshot_for_other_settings_is_not_used(data_dir: Path) -> None:
    snapshot_of(data_dir)
    toml = data_dir / "ixidir.toml"
    text = toml.read_text()
    routing = 'routing_attributes = ["facsimileTelephoneNumber", "ixiVoiceNumber", "ixiSmsNumber"]'
    assert routing in text
    toml.write_text(text.replace(routing, 'routing_attributes = ["facsimileTelephoneNumber"]'))
    loaded, _ = load(data_dir)
    assert loaded.source == "store"
    assert "other code or settings" in loaded.why_not_snapshot


def test_a_snapshot_far_behind_is_not_used(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot_of(data_dir)
    add_user(data_dir, "one")
    add_user(data_dir, "two", fax=b"+49 30 5550124")
    monkeypatch.setattr(warmstart, "MAX_REPLAYED_CHANGES", 0)
    loaded, _ = load(data_dir)
    assert loaded.source == "store"
    assert "2 changes behind" in loaded.why_not_snapshot


def test_a_damaged_snapshot_falls_back_to_the_store(data_dir: Path) -> None:
    snapshot_of(data_dir)
    path = snapshot_path(data_dir)
    path.write_bytes(path.read_bytes()[:-10])
    loaded, _ = load(data_dir)
    assert loaded.source == "store"
    assert "damaged" in loaded.why_not_snapshot
