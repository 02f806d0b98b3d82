"""The ports the directory needs from persistent storage, as `typing.Protocol`s.

No driver type, SQL text or row object appears here: `ixidir.storage` implements these on Firebird,
and the core is tested against that real implementation, never a mock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Attribute values are octet strings (RFC 4511 §4.1.5); text syntaxes hold UTF-8.
Attributes = Mapping[str, Sequence[bytes]]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One entry as persisted: its entryUUID, DN (as written), DN key and every attribute.

    `attributes` is keyed by the schema's canonical attribute name and includes the operational
    attributes the server maintains (createTimestamp, entryUUID, ...).
    """

    uuid: str
    dn: str
    dn_key: str
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class PutEntry:
    """Insert or replace the entry with this uuid (a rename is a put with a new DN).

    `routing_keys` are the entry's canonical routing numbers (E.164 digits, SCHEMA.md "One
    number, one user"): the store makes them the entry's only keys in the same transaction and
    refuses, with NumberConflict, a key that another entry holds. Entries written before the
    store knew keys hold none until their next put (ixidir/storage/migrations.py, migration 3).
    """

    entry: StoredEntry
    routing_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DeleteEntry:
    uuid: str


@dataclass(frozen=True, slots=True)
class RekeyEntry:
    """Make `routing_keys` the entry's only routing keys, leaving the entry itself as it is.

    New site settings change the canonical key of numbers stored in national or local form;
    the write that changes them re-keys those entries in the same transaction, so the store's
    keys never go stale. Not a change of the entry: no changelog item (followers re-key from
    the new settings themselves).
    """

    uuid: str
    routing_keys: frozenset[str]


EntryWrite = PutEntry | DeleteEntry | RekeyEntry


@dataclass(frozen=True, slots=True)
class Change:
    """One committed write, as other processes following the changelog see it."""

    sequence: int
    puts: tuple[StoredEntry, ...] = ()
    deleted: tuple[str, ...] = field(default=())


class StorageError(Exception):
    """The store could not do what was asked; the directory maps it to a result code."""


class StorageConflict(StorageError):
    """A uniqueness rule of the store was hit (e.g. a DN key already taken by another uuid)."""


class NumberConflict(StorageConflict):
    """A routing key of a put is held by another entry (committed, possibly by another process).

    `holder_dn` is the holder's DN as stored, None when its row could not be read (the holder
    was deleted since); nothing of the failed transaction is written.
    """

    def __init__(self, key: str, holder_uuid: str | None, holder_dn: str | None) -> None:
        holder = holder_dn or holder_uuid or "another entry"
        super().__init__(f"routing key +{key} is held by {holder}")
        self.key = key
        self.holder_uuid = holder_uuid
        self.holder_dn = holder_dn

    def __reduce__(self) -> tuple[type[NumberConflict], tuple[str, str | None, str | None]]:
        # Pickled whole: the entry writer's store answers from another process (storeproc).
        return (type(self), (self.key, self.holder_uuid, self.holder_dn))


class BatchRefused(StorageError):
    """Change `index` of a group commit was refused with `error` (a StorageConflict); nothing of
    the batch was written, so the others can be committed again without it."""

    def __init__(self, index: int, error: StorageError) -> None:
        super().__init__(f"change {index} of the batch: {error}")
        self.index = index
        self.error = error

    def __reduce__(self) -> tuple[type[BatchRefused], tuple[int, StorageError]]:
        return (type(self), (self.index, self.error))


class StorageUnavailable(StorageError):
    """The database cannot be reached or opened."""


class EntryStore(Protocol):
    """Durable home of the entries: loaded whole at start, written one transaction per operation."""

    def load(self) -> Iterator[StoredEntry]:
        """Every stored entry, in no particular order; each entry's attributes a dict of
        tuples made for this call, which the caller keeps without copying."""
        ...

    def commit(self, writes: Sequence[EntryWrite]) -> int:
        """Apply the writes and one changelog row in a single transaction; return its sequence.

        When this returns, the change is on disk. On any error nothing is written.
        """
        ...

    def last_sequence(self) -> int:
        """The sequence number of the newest committed change (0 for none)."""
        ...

    def changes_since(self, sequence: int) -> list[Change]:
        """The changes committed after `sequence`, oldest first, with the entries' current rows."""
        ...
