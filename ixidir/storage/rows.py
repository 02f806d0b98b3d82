"""Mapping between StoredEntry values and ENTRIES rows (SQL text and column conversions)."""

from __future__ import annotations

import hashlib
from typing import Any

from ixidir.directory.ports import StorageError, StoredEntry
from ixidir.storage.attributes import decode_attributes, encode_attributes

# Column limits of migration 1 (ixidir/storage/migrations.py).
MAX_DN_CHARACTERS = 2000
MAX_INLINE_ATTRIBUTES = 32000
UUID_LENGTH = 36

# Each changelog row, its items and the items' entries as they are now (NULLs when deleted).
SELECT_CHANGES = (
    "SELECT C.SEQ, I.UUID, E.UUID, E.DN, E.DN_KEY, E.ATTRS, E.ATTRS_LARGE FROM CHANGELOG C "
    "LEFT JOIN CHANGELOG_ITEMS I ON I.SEQ = C.SEQ "
    "LEFT JOIN ENTRIES E ON E.UUID = I.UUID "
    "WHERE C.SEQ > ? ORDER BY C.SEQ, I.UUID"
)
UPSERT = (
    "UPDATE OR INSERT INTO ENTRIES (UUID, DN, DN_KEY, DN_KEY_HASH, ATTRS, ATTRS_LARGE) "
    "VALUES (?, ?, ?, ?, ?, ?) MATCHING (UUID)"
)
DELETE = "DELETE FROM ENTRIES WHERE UUID = ?"

# Routing keys of migration 3: E.164 digits, at most 15 (ITU-T E.164 §6).
MAX_ROUTING_KEY = 15
# Who holds a key, and under which DN, as this transaction sees it (the winner of a race has
# committed by the time our insert fails).
SELECT_KEY_HOLDER = (
    "SELECT R.ENTRY_UUID, E.DN FROM ROUTING_KEYS R "
    "LEFT JOIN ENTRIES E ON E.UUID = R.ENTRY_UUID WHERE R.KEY = ?"
)


def check_uuid(uuid: str) -> str:
    """The uuid column is CHAR(36) ASCII: anything else would be padded or refused."""
    if len(uuid) != UUID_LENGTH or not uuid.isascii():
        raise StorageError(f"not a 36-character entryUUID: {uuid!r}")
    return uuid


def check_routing_key(key: str) -> str:
    """KEY is VARCHAR(15) ASCII: only the digits of an E.164 number fit."""
    if not (0 < len(key) <= MAX_ROUTING_KEY and key.isascii() and key.isdigit()):
        raise StorageError(f"not a routing key (1 to {MAX_ROUTING_KEY} digits): {key!r}")
    return key


def entry_parameters(entry: StoredEntry) -> tuple[str, str, str, bytes, bytes | None, bytes | None]:
    """The UPSERT parameters for one entry, checked against the column limits."""
    check_uuid(entry.uuid)
    if len(entry.dn) > MAX_DN_CHARACTERS or len(entry.dn_key) > MAX_DN_CHARACTERS:
        raise StorageError(f"DN longer than {MAX_DN_CHARACTERS} characters: {entry.dn[:80]}...")
    key_hash = hashlib.sha256(entry.dn_key.encode("utf-8")).digest()
    data = encode_attributes(entry.attributes)
    if len(data) <= MAX_INLINE_ATTRIBUTES:
        return (entry.uuid, entry.dn, entry.dn_key, key_hash, data, None)
    return (entry.uuid, entry.dn, entry.dn_key, key_hash, None, data)


def entry_from_row(row: tuple[Any, ...]) -> StoredEntry:
    """A StoredEntry from the entry columns (UUID, DN, DN_KEY, ATTRS, ATTRS_LARGE)."""
    uuid, dn, dn_key, inline, large = row
    data = inline if inline is not None else large
    if not isinstance(data, bytes):
        raise StorageError(f"entry {uuid} has no attribute data")
    return StoredEntry(uuid=uuid, dn=dn, dn_key=dn_key, attributes=decode_attributes(data))
