"""Warm start: the directory from its last snapshot plus the changes since, else from the store.

A cold load of 100,000 users takes ~9 s (fetching and decoding every row, normalizing every
indexed value); a snapshot restores the same memory in about a quarter of that. It is only a
cache: Firebird stays the one source of truth. A snapshot is used only when it was written by
this very code and these settings (the fingerprint), for this very database and change (the
stamp: the database GUID, which a restore from backup changes, and the commit time of the
change it shows), and when few changes came after it; otherwise the log says why and the
directory loads from the store as before. `ixidir serve` writes one when it stops cleanly.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ixidir
from ixidir.directory.directory import Directory, LoadCounts
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.snapshot import SnapshotUnusable, read_snapshot, write_snapshot

SNAPSHOT_FILE = "directory.snapshot"
# Replaying a change costs about what loading its entries does; beyond this many changes
# (or a tenth of the entries, if more) a load from the store is as quick and reads less.
MAX_REPLAYED_CHANGES = 1000


@dataclass(frozen=True, slots=True)
class Loaded:
    """How the directory was filled: from `snapshot` (then `replayed` changes) or `store`."""

    directory: Directory
    counts: LoadCounts
    source: str
    replayed: int = 0
    why_not_snapshot: str = ""


def snapshot_path(data_dir: Path) -> Path:
    return data_dir / SNAPSHOT_FILE


def load_directory(
    data_dir: Path, store: FirebirdEntryStore, build: Callable[[], Directory]
) -> Loaded:
    """A directory filled from the snapshot when it fits, else from the store."""
    directory = build()
    try:
        snapshot = read_snapshot(snapshot_path(data_dir), fingerprint=fingerprint(directory))
        sequence = _sequence_of(snapshot.image)
        if store.change_stamp(sequence) != snapshot.stamp:
            raise SnapshotUnusable("the snapshot belongs to another database or history")
        behind = store.last_sequence() - sequence
        if behind > MAX_REPLAYED_CHANGES and behind * 10 > len(snapshot.image["entries"]):
            raise SnapshotUnusable(f"the snapshot is {behind} changes behind")
        counts = directory.restore_image(snapshot.image)
    except (SnapshotUnusable, ValueError) as exc:
        directory = build()  # a restore that failed half way leaves nothing to reuse
        return Loaded(directory, directory.load(), "store", why_not_snapshot=str(exc))
    replayed = directory.apply_changes(store.changes_since(sequence))
    counts = LoadCounts(entries=counts.entries, sequence=directory.sequence)
    return Loaded(directory, counts, "snapshot", replayed=replayed)


def save_snapshot(data_dir: Path, directory: Directory, store: FirebirdEntryStore) -> int:
    """Write the directory's memory as the data directory's snapshot; returns its size.

    ValueError when it cannot be written (an indexed value marshal cannot hold, or a
    sequence the store does not know): the previous snapshot, if any, stays.
    """
    stamp = store.change_stamp(directory.sequence)
    if stamp is None:
        raise ValueError(f"the store has no change {directory.sequence}")
    return write_snapshot(
        snapshot_path(data_dir),
        directory.capture_image(),
        fingerprint=fingerprint(directory),
        stamp=stamp,
    )


def fingerprint(directory: Directory) -> str:
    """What a snapshot's content depends on besides the data: Python, marshal, ixidir's code
    and schema files, and the settings that shape keys and indexes."""
    state = directory.state
    settings = (
        str(state.base_dn),
        tuple(state.settings.indexed_attributes),
        tuple(state.settings.routing_attributes),
        state.defaults_key,
    )
    text = repr((sys.version, marshal.version, _code_digest(), settings))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@cache
def _code_digest() -> str:
    """SHA-256 over ixidir's own source and schema files (~5 ms, once per process)."""
    root = Path(ixidir.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".schema"} and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _sequence_of(image: object) -> int:
    sequence = image.get("sequence") if isinstance(image, dict) else None
    if not isinstance(sequence, int) or sequence < 0:
        raise SnapshotUnusable("the snapshot has no changelog sequence")
    return sequence
