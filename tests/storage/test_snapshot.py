"""Snapshot files: round trip, and every way a file can be unusable is refused with a reason."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ixidir.storage.snapshot import SnapshotUnusable, read_snapshot, write_snapshot

IMAGE = {
    "entries": [("u1", "cn=a,dc=x", "cn=a,dc=x", "dc=x", {"cn": (b"a", b"\x00\xff")})],
    "present": {"cn": {"u1"}},
    "sequence": 7,
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "snap" / "directory.snapshot"


def test_an_image_comes_back_as_it_was_written(path: Path) -> None:
    size = write_snapshot(path, IMAGE, fingerprint="f1", stamp="{GUID}/2026-11-28T15:00:00")
    assert path.stat().st_size == size
    snapshot = read_snapshot(path, fingerprint="f1")
    assert snapshot.image == IMAGE
    assert snapshot.stamp == "{GUID}/2026-11-28T15:00:00"


def test_only_the_owner_can_read_it_and_no_partial_file_is_left(path: Path) -> None:
    write_snapshot(path, IMAGE, fingerprint="f1", stamp="s")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_missing_file_is_unusable(path: Path) -> None:
    with pytest.raises(SnapshotUnusable, match="no snapshot"):
        read_snapshot(path, fingerprint="f1")


def test_a_snapshot_of_other_code_is_not_read(path: Path) -> None:
    write_snapshot(path, IMAGE, fingerprint="f1", stamp="s")
    with pytest.raises(SnapshotUnusable, match="other code"):
        read_snapshot(path, fingerprint="f2")


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_a_damaged_payload_fails_its_checksum(path: Path, damage: str) -> None:
    write_snapshot(path, IMAGE, fingerprint="f1", stamp="s")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-3] ^= 0x40
    elif damage == "truncate":
        del data[-5:]
    else:
        data += b"x"
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotUnusable, match="checksum"):
        read_snapshot(path, fingerprint="f1")


@pytest.mark.parametrize("content", [b"", b"hello\n", b"IXIDIR-SNAPSHOT 9 f1 00 s\n", b"x" * 5000])
def test_a_file_that_is_no_snapshot_is_refused(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(SnapshotUnusable, match="not an ixidir snapshot"):
        read_snapshot(path, fingerprint="f1")


def test_an_unwritable_image_keeps_the_previous_snapshot(path: Path) -> None:
    write_snapshot(path, IMAGE, fingerprint="f1", stamp="s")
    with pytest.raises(ValueError, match="unmarshallable"):
        write_snapshot(path, {"bad": object()}, fingerprint="f1", stamp="t")
    assert read_snapshot(path, fingerprint="f1").image == IMAGE
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_white_space_in_the_header_fields_is_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="white space"):
        write_snapshot(path, IMAGE, fingerprint="f 1", stamp="s")
