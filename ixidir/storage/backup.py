"""Online backup of every table of the database at one moment, and its restore into a new one.

The backup reads all tables in one read-only SNAPSHOT transaction, so entries, changelog,
routing keys, daily counts (and any table a later migration adds) are those of one instant,
while writers go on (a snapshot transaction neither blocks nor is blocked by them). Tables are
found in the catalog, not listed here: a new table is carried without a line of code; only
NOT_BACKED_UP names what a restore makes anew.

File layout (gzip): a line `IXIDIR-BACKUP 1`, then JSON lines: the header object (with
`schema_version`), per table `{"table": NAME, "columns": [...]}` followed by one JSON array per
row, and a final `{"end": {NAME: rows, ...}}` that proves the file is complete. Values are JSON
null, numbers and strings, or tagged objects: `{"b": base64}` bytes, `{"ts": iso}` timestamps,
`{"d": iso}` dates.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from firebird.driver import Connection, Isolation, TraAccessMode, tpb
from firebird.driver import Error as DriverError

from ixidir.directory.ports import StorageError
from ixidir.storage import bulk
from ixidir.storage.database import translate

MAGIC = b"IXIDIR-BACKUP 1\n"
# The schema's own bookkeeping (a restore's migrations write it) and the database's identity
# (a restored database is another database: a snapshot of the old one must not be used on it).
NOT_BACKED_UP = frozenset({"SCHEMA_VERSION", "DATABASE_IDENTITY"})
FETCH_ROWS = 2000
_TABLES = (
    "SELECT TRIM(RDB$RELATION_NAME) FROM RDB$RELATIONS WHERE COALESCE(RDB$SYSTEM_FLAG, 0) = 0 "
    "AND RDB$VIEW_BLR IS NULL AND COALESCE(RDB$RELATION_TYPE, 0) = 0 ORDER BY 1"
)
_COLUMNS = (
    "SELECT TRIM(RDB$FIELD_NAME) FROM RDB$RELATION_FIELDS WHERE RDB$RELATION_NAME = ? "
    "ORDER BY RDB$FIELD_POSITION"
)


class Writable(Protocol):
    """Where a backup goes: a binary file or stream (gzip in `ixidir backup`)."""

    def write(self, data: bytes, /) -> int: ...


class BackupError(StorageError):
    """A backup file that cannot be read or restored; the message says why."""


def write_backup(
    connection: Connection, out: Writable, header: Mapping[str, object]
) -> dict[str, int]:
    """Write every table's rows as one SNAPSHOT transaction sees them; returns rows per table."""
    snapshot = connection.transaction_manager(
        tpb(Isolation.SNAPSHOT, access_mode=TraAccessMode.READ)
    )
    counts: dict[str, int] = {}
    try:
        snapshot.begin()
        with snapshot.cursor() as cursor:
            cursor.stream_blob_threshold = -1  # large attribute blobs arrive as bytes
            out.write(MAGIC)
            _write_line(out, dict(header))
            for table in _table_names(cursor):
                columns = _column_names(cursor, table)
                _write_line(out, {"table": table, "columns": columns})
                cursor.execute(_select(table, columns))
                counts[table] = 0
                while rows := cursor.fetchmany(FETCH_ROWS):
                    out.write(b"".join(_row_line(row) for row in rows))
                    counts[table] += len(rows)
            _write_line(out, {"end": counts})
        snapshot.commit()
    except DriverError as exc:
        raise translate(exc, "reading the database for a backup") from exc
    finally:
        snapshot.close()
    return counts


def read_header(path: Path) -> dict[str, Any]:
    """The header object of a backup file (the schema version it needs, its configuration)."""
    with _open(path) as lines:
        return next(lines)


def restore_backup(connection: Connection, path: Path) -> dict[str, int]:
    """Replace every backed-up table's rows with the file's, in one transaction.

    The database must be at the backup's schema version (migrate it further afterwards). A
    file that is cut short or names a table this database lacks restores nothing.
    """
    transaction = connection.transaction_manager()
    try:
        transaction.begin()
        with transaction.cursor() as cursor:
            existing = set(_table_names(cursor))
            counts = _restore_tables(cursor, path, existing)
        transaction.commit()
    except DriverError as exc:
        transaction.rollback()
        raise translate(exc, "restoring a backup") from exc
    except BaseException:
        transaction.rollback()
        raise
    finally:
        transaction.close()
    return counts


def _restore_tables(cursor: Any, path: Path, existing: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with _open(path) as items:
        next(items)  # the header
        for name in existing:
            cursor.execute(f'DELETE FROM "{name}"')  # noqa: S608 (a name from the catalog)
        table: str | None = None
        columns: list[str] = []
        rows: list[tuple[Any, ...]] = []
        for item in items:
            if isinstance(item, tuple):
                rows.append(item)
                continue
            if table is not None:
                counts[table] = _insert_rows(cursor, table, columns, rows)
                rows = []
            if "end" in item:
                if item["end"] != counts:
                    raise BackupError(f"{path}: the row counts do not match the file's end")
                return counts
            table, columns = item["table"], item["columns"]
            if table not in existing:
                raise BackupError(f"{path}: table {table} does not exist in this database")
    raise BackupError(f"{path} is cut short (no end line): nothing was restored")


def _insert_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> int:
    writer = _BULK.get((table, tuple(columns)))
    if writer is not None:
        return writer(cursor, rows)
    names = ", ".join(f'"{column}"' for column in columns)
    marks = ", ".join("?" for _ in columns)
    statement = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 (catalog names)
    for row in rows:
        cursor.execute(statement, row)
    return len(rows)


def _restore_entries(cursor: Any, rows: Sequence[tuple[Any, ...]]) -> int:
    count = 0
    packed: list[bulk.EntryParameters] = []
    for uuid, dn, dn_key, key_hash, inline, large in rows:
        parameters = (uuid.strip(), dn, dn_key, key_hash, inline, large)
        if bulk.packable(parameters):
            packed.append(parameters)
        else:
            cursor.execute(
                "INSERT INTO ENTRIES (UUID, DN, DN_KEY, DN_KEY_HASH, ATTRS, ATTRS_LARGE) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                parameters,
            )
        count += 1
    bulk.put_entries(cursor, packed)
    return count


def _restore_routing_keys(cursor: Any, rows: Sequence[tuple[Any, ...]]) -> int:
    keys = [(key.strip(), uuid.strip()) for key, uuid in rows]
    bulk.insert_routing_keys(cursor, keys)
    return len(keys)


def _restore_changelog_items(cursor: Any, rows: Sequence[tuple[Any, ...]]) -> int:
    items = [(int(sequence), uuid.strip(), kind.strip()) for sequence, uuid, kind in rows]
    bulk.insert_changelog_items(cursor, items)
    return len(items)


# The big tables go in packed chunks (storage.bulk) when their columns are the ones bulk
# writes; any other table, or these with other columns, row by row.
_BULK: dict[tuple[str, tuple[str, ...]], Callable[[Any, Sequence[tuple[Any, ...]]], int]] = {
    (
        "ENTRIES",
        ("UUID", "DN", "DN_KEY", "DN_KEY_HASH", "ATTRS", "ATTRS_LARGE"),
    ): _restore_entries,
    ("ROUTING_KEYS", ("KEY", "ENTRY_UUID")): _restore_routing_keys,
    ("CHANGELOG_ITEMS", ("SEQ", "UUID", "KIND")): _restore_changelog_items,
}


def _table_names(cursor: Any) -> list[str]:
    cursor.execute(_TABLES)
    return [name for (name,) in cursor.fetchall() if name not in NOT_BACKED_UP]


def _column_names(cursor: Any, table: str) -> list[str]:
    cursor.execute(_COLUMNS, (table,))
    return [name for (name,) in cursor.fetchall()]


def _select(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f'"{column}"' for column in columns)
    return f'SELECT {names} FROM "{table}"'  # noqa: S608 (names from the catalog, quoted)


def _write_line(out: Writable, item: object) -> None:
    out.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")


def _row_line(row: Sequence[object]) -> bytes:
    return json.dumps([_encode(value) for value in row], separators=(",", ":")).encode() + b"\n"


def _encode(value: object) -> object:
    match value:
        case None | bool() | int() | float() | str():
            return value
        case bytes():
            return {"b": base64.b64encode(value).decode("ascii")}
        case datetime():
            return {"ts": value.isoformat()}
        case date():
            return {"d": value.isoformat()}
    raise StorageError(f"a backup cannot hold a value of type {type(value).__name__}")


def _decode(value: object) -> object:
    if not isinstance(value, dict):
        return value
    if "b" in value:
        return base64.b64decode(value["b"])
    if "ts" in value:
        return datetime.fromisoformat(value["ts"])
    if "d" in value:
        return date.fromisoformat(value["d"])
    raise BackupError(f"an unknown value in a backup: {value!r}")


@contextmanager
def _open(path: Path) -> Iterator[Iterator[Any]]:
    """The file's JSON lines: objects as dicts, rows as tuples of decoded values."""
    try:
        with gzip.open(path, "rb") as stream:
            if stream.readline() != MAGIC:
                raise BackupError(f"{path} is not an ixidir backup")
            yield (_parsed(line, path) for line in stream)
    except (OSError, EOFError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from None


def _parsed(line: bytes, path: Path) -> Any:
    item = json.loads(line)
    if isinstance(item, list):
        return tuple(_decode(value) for value in item)
    if not isinstance(item, dict):
        raise BackupError(f"{path}: not a backup line: {line[:80]!r}")
    return item
