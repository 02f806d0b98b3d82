"""A real, simple in-memory EntryStore: a dict of entries and a changelog list.

Not a mock: it enforces the port's rules (one sequence per commit, all-or-nothing, a DN key
held by one uuid only → StorageConflict), so directory tests exercise real behaviour.
`fail_next` makes the next commit fail, to test that nothing reaches memory then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from ixidir.directory.ports import (
    BatchRefused,
    Change,
    DeleteEntry,
    EntryWrite,
    PutEntry,
    RekeyEntry,
    StorageConflict,
    StorageError,
    StoredEntry,
)


class MemoryEntryStore:
    def __init__(self) -> None:
        self.entries: dict[str, StoredEntry] = {}
        self.changelog: list[tuple[int, tuple[str, ...]]] = []
        self.fail_next: StorageError | None = None
        self.batches = 0  # group commits made with commit_many

    def load(self) -> Iterator[StoredEntry]:
        """Copies, as the port says: the caller keeps their attributes."""
        return iter([_copy(entry, tuple) for entry in self.entries.values()])

    def commit(self, writes: Sequence[EntryWrite]) -> int:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        staged = dict(self.entries)
        for write in writes:
            if isinstance(write, PutEntry):
                staged[write.entry.uuid] = _copy(write.entry)
            elif isinstance(write, DeleteEntry):
                staged.pop(write.uuid, None)
        keys = [entry.dn_key for entry in staged.values()]
        if len(keys) != len(set(keys)):
            raise StorageConflict("DN key already taken by another entry")
        self.entries = staged
        sequence = self.last_sequence() + 1
        uuids = tuple(
            w.entry.uuid if isinstance(w, PutEntry) else w.uuid
            for w in writes
            if not isinstance(w, RekeyEntry)  # no change of the entry (ports.RekeyEntry)
        )
        self.changelog.append((sequence, uuids))
        return sequence

    def commit_many(self, changes: Sequence[Sequence[EntryWrite]]) -> list[int]:
        """Group commit: all or nothing; a change hitting a unique key raises BatchRefused."""
        saved = (dict(self.entries), list(self.changelog))
        sequences = []
        for index, writes in enumerate(changes):
            try:
                sequences.append(self.commit(writes))
            except StorageError as error:
                self.entries, self.changelog = saved
                if isinstance(error, StorageConflict):
                    raise BatchRefused(index, error) from error
                raise
        self.batches += 1
        return sequences

    def last_sequence(self) -> int:
        return self.changelog[-1][0] if self.changelog else 0

    def changes_since(self, sequence: int) -> list[Change]:
        out = []
        for seq, uuids in self.changelog:
            if seq <= sequence:
                continue
            puts = tuple(self.entries[u] for u in uuids if u in self.entries)
            deleted = tuple(u for u in uuids if u not in self.entries)
            out.append(Change(seq, puts, deleted))
        return out


def _copy(
    entry: StoredEntry, sequence: Callable[[Iterable[bytes]], Sequence[bytes]] = list
) -> StoredEntry:
    attributes = {name: sequence(values) for name, values in entry.attributes.items()}
    return StoredEntry(entry.uuid, entry.dn, entry.dn_key, attributes)


__all__ = ["DeleteEntry", "MemoryEntryStore"]
