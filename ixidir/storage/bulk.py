"""Many rows in few statements: rows packed into one OCTETS parameter, unpacked by EXECUTE BLOCK.

firebird-driver 2.1 spends ~15 interface calls per parameter on every execute (it rebuilds the
message metadata), about 0.3-0.8 ms per entry row on the shared build machine; an import of
100,000 entries made ~500,000 such calls. Packing a chunk of rows into one VARCHAR(32000)
CHARACTER SET OCTETS parameter and unpacking it with SUBSTRING inside an EXECUTE BLOCK makes that
one execute per chunk (measured: 384 µs per entry row alone, 109 µs packed, 5,000 entries).
The statements are plain PSQL of Firebird 3.0 (EXECUTE BLOCK, SUBSTRING on OCTETS, CAST to a
character set); Firebird 4's batch API would do the same but does not exist on 3.0.

Layouts (ASCII digits for lengths, so CAST reads them without byte arithmetic):
- entry: UUID (36) | len(DN) len(DN_KEY) len(ATTRS) (5 digits each) | DN | DN_KEY | hash (32) |
  ATTRS, the strings in UTF-8;
- routing key: KEY (15, space-padded) | ENTRY_UUID (36);
- an entry's routing keys: UUID (36) | len(KEYS) (5 digits) | KEYS, the keys between commas
  (`,k1,k2,`; `,` for none), so `',' || KEY || ','` is found only as a whole key;
- changelog item: SEQ (19 digits) | UUID (36) | KIND (1);
- uuid: UUID (36).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ixidir.storage.rows import MAX_ROUTING_KEY, UUID_LENGTH, check_routing_key

# The parameter's size: the longest VARCHAR whose message still fits Firebird's 64 KiB limit
# next to the statement's other parameters, and the inline ATTRS column's own limit. The
# statements below spell it out (VARCHAR(32000)): SQL text is never built from values.
CHUNK_BYTES = 32000
_LENGTH_DIGITS = 5
_HASH_BYTES = 32
_ENTRY_HEAD = UUID_LENGTH + 3 * _LENGTH_DIGITS
_KEY_RECORD = MAX_ROUTING_KEY + UUID_LENGTH

_PUT_ENTRIES = """EXECUTE BLOCK (D VARCHAR(32000) CHARACTER SET OCTETS = ?) AS
DECLARE P INTEGER = 1; DECLARE L1 INTEGER; DECLARE L2 INTEGER; DECLARE L3 INTEGER;
BEGIN
  WHILE (:P < OCTET_LENGTH(:D)) DO BEGIN
    L1 = CAST(CAST(SUBSTRING(:D FROM :P + 36 FOR 5) AS VARCHAR(5) CHARACTER SET ASCII) AS INTEGER);
    L2 = CAST(CAST(SUBSTRING(:D FROM :P + 41 FOR 5) AS VARCHAR(5) CHARACTER SET ASCII) AS INTEGER);
    L3 = CAST(CAST(SUBSTRING(:D FROM :P + 46 FOR 5) AS VARCHAR(5) CHARACTER SET ASCII) AS INTEGER);
    UPDATE OR INSERT INTO ENTRIES (UUID, DN, DN_KEY, DN_KEY_HASH, ATTRS, ATTRS_LARGE)
      VALUES (CAST(SUBSTRING(:D FROM :P FOR 36) AS CHAR(36) CHARACTER SET ASCII),
        CAST(SUBSTRING(:D FROM :P + 51 FOR :L1) AS VARCHAR(2000) CHARACTER SET UTF8),
        CAST(SUBSTRING(:D FROM :P + 51 + :L1 FOR :L2) AS VARCHAR(2000) CHARACTER SET UTF8),
        SUBSTRING(:D FROM :P + 51 + :L1 + :L2 FOR 32),
        SUBSTRING(:D FROM :P + 83 + :L1 + :L2 FOR :L3), NULL) MATCHING (UUID);
    P = :P + 83 + :L1 + :L2 + :L3;
  END
END"""

_INSERT_ROUTING_KEYS = """EXECUTE BLOCK (D VARCHAR(32000) CHARACTER SET OCTETS = ?) AS
DECLARE P INTEGER = 1;
BEGIN
  WHILE (:P < OCTET_LENGTH(:D)) DO BEGIN
    INSERT INTO ROUTING_KEYS (KEY, ENTRY_UUID) VALUES (
      TRIM(CAST(SUBSTRING(:D FROM :P FOR 15) AS VARCHAR(15) CHARACTER SET ASCII)),
      CAST(SUBSTRING(:D FROM :P + 15 FOR 36) AS CHAR(36) CHARACTER SET ASCII));
    P = :P + 51;
  END
END"""

# An entry's write keeps the key rows it still holds and touches only the others: a modify that
# leaves the numbers alone then writes no ROUTING_KEYS row and no index page (deleting and
# inserting them again cost a quarter of a one-entry commit's CPU and wall time: 1.65 -> 1.27 ms
# of CPU, 2.46 -> 1.83 ms, /tmp probe of single modifies, embedded 5). The end state is the
# one deleting every key and inserting the new ones gives, read from the database, not from
# memory that may lag behind another process.
_DROP_STALE_ROUTING_KEYS = """EXECUTE BLOCK (D VARCHAR(32000) CHARACTER SET OCTETS = ?) AS
DECLARE P INTEGER = 1; DECLARE L INTEGER;
DECLARE U CHAR(36) CHARACTER SET ASCII;
DECLARE S VARCHAR(32000) CHARACTER SET ASCII;
DECLARE K VARCHAR(15) CHARACTER SET ASCII;
BEGIN
  WHILE (:P < OCTET_LENGTH(:D)) DO BEGIN
    U = CAST(SUBSTRING(:D FROM :P FOR 36) AS CHAR(36) CHARACTER SET ASCII);
    L = CAST(CAST(SUBSTRING(:D FROM :P + 36 FOR 5) AS VARCHAR(5) CHARACTER SET ASCII) AS INTEGER);
    S = CAST(SUBSTRING(:D FROM :P + 41 FOR :L) AS VARCHAR(32000) CHARACTER SET ASCII);
    FOR SELECT KEY FROM ROUTING_KEYS WHERE ENTRY_UUID = :U INTO :K DO
      IF (POSITION(',' || :K || ',' IN :S) = 0) THEN
        DELETE FROM ROUTING_KEYS WHERE KEY = :K;
    P = :P + 41 + :L;
  END
END"""

_ADD_ROUTING_KEYS = """EXECUTE BLOCK (D VARCHAR(32000) CHARACTER SET OCTETS = ?) AS
DECLARE P INTEGER = 1;
DECLARE K VARCHAR(15) CHARACTER SET ASCII;
DECLARE U CHAR(36) CHARACTER SET ASCII;
BEGIN
  WHILE (:P < OCTET_LENGTH(:D)) DO BEGIN
    K = TRIM(CAST(SUBSTRING(:D FROM :P FOR 15) AS VARCHAR(15) CHARACTER SET ASCII));
    U = CAST(SUBSTRING(:D FROM :P + 15 FOR 36) AS CHAR(36) CHARACTER SET ASCII);
    IF (NOT EXISTS (SELECT 1 FROM ROUTING_KEYS WHERE KEY = :K AND ENTRY_UUID = :U)) THEN
      INSERT INTO ROUTING_KEYS (KEY, ENTRY_UUID) VALUES (:K, :U);
    P = :P + 51;
  END
END"""

_INSERT_ITEMS = """EXECUTE BLOCK (D VARCHAR(32000) CHARACTER SET OCTETS = ?)
AS DECLARE P INTEGER = 1;
BEGIN
  WHILE (:P < OCTET_LENGTH(:D)) DO BEGIN
    INSERT INTO CHANGELOG_ITEMS (SEQ, UUID, KIND) VALUES (
      CAST(CAST(SUBSTRING(:D FROM :P FOR 19) AS VARCHAR(19) CHARACTER SET ASCII) AS BIGINT),
      CAST(SUBSTRING(:D FROM :P + 19 FOR 36) AS CHAR(36) CHARACTER SET ASCII),
      CAST(SUBSTRING(:D FROM :P + 55 FOR 1) AS CHAR(1) CHARACTER SET ASCII));
    P = :P + 56;
  END
END"""

# Reading: the entries whose record fits a chunk, packed by the engine the same way (without
# the hash); the others (large attributes, very long DNs) come as rows (UNPACKED_ENTRIES).
# Measured at 100,000 entries: 1.7 s packed and split in Python, 2.3 s as plain rows unsplit.
# The engine starts a new chunk past READ_CHUNK_BYTES (a record up to CHUNK_BYTES still goes
# alone): each `||` copies the chunk so far, and past ~16 KB that copying doubled the engine's
# time (20,000 entries, embedded 5: 0.22-0.26 s packing to 32,000 bytes, 0.10 s to 16,000 or
# 12,000, 0.15 s to 2,000; the scan alone 0.04 s).
READ_CHUNK_BYTES = 16000
_READ_ENTRIES = """EXECUTE BLOCK RETURNS (D VARCHAR(32000) CHARACTER SET OCTETS) AS
DECLARE U CHAR(36) CHARACTER SET OCTETS;
DECLARE N VARCHAR(8000) CHARACTER SET OCTETS;
DECLARE K VARCHAR(8000) CHARACTER SET OCTETS;
DECLARE A VARCHAR(32000) CHARACTER SET OCTETS;
DECLARE L INTEGER;
BEGIN
  D = '';
  FOR SELECT UUID, DN, DN_KEY, ATTRS FROM ENTRIES WHERE ATTRS IS NOT NULL
      INTO :U, :N, :K, :A DO BEGIN
    L = 51 + OCTET_LENGTH(:N) + OCTET_LENGTH(:K) + OCTET_LENGTH(:A);
    IF (L <= 32000) THEN BEGIN
      IF (OCTET_LENGTH(:D) > 0 AND OCTET_LENGTH(:D) + L > 16000) THEN BEGIN SUSPEND; D = ''; END
      D = :D || :U || LPAD(OCTET_LENGTH(:N), 5, '0') || LPAD(OCTET_LENGTH(:K), 5, '0')
        || LPAD(OCTET_LENGTH(:A), 5, '0') || :N || :K || :A;
    END
  END
  IF (OCTET_LENGTH(:D) > 0) THEN SUSPEND;
END"""
UNPACKED_ENTRIES = (
    "SELECT E.UUID, E.DN, E.DN_KEY, E.ATTRS, E.ATTRS_LARGE FROM ENTRIES E WHERE E.ATTRS IS NULL "
    "OR 51 + OCTET_LENGTH(E.DN) + OCTET_LENGTH(E.DN_KEY) + OCTET_LENGTH(E.ATTRS) > 32000"
)
READ_CHUNKS = 128

EntryParameters = tuple[str, str, str, bytes, bytes | None, bytes | None]


def packable(parameters: EntryParameters) -> bool:
    """Whether one entry row fits a chunk (inline attributes, and room for them)."""
    _, dn, dn_key, _, inline, _ = parameters
    if inline is None:
        return False
    size = _ENTRY_HEAD + len(dn.encode()) + len(dn_key.encode()) + _HASH_BYTES + len(inline)
    return size <= CHUNK_BYTES


def put_entries(cursor: Any, rows: Iterable[EntryParameters]) -> None:
    """UPDATE OR INSERT every row (all `packable`) as storage.rows.UPSERT does, chunk by chunk."""
    for chunk in _chunks(map(_pack_entry, rows)):
        cursor.execute(_PUT_ENTRIES, (chunk,))


def insert_routing_keys(cursor: Any, keys: Iterable[tuple[str, str]]) -> None:
    """Insert (key, entry uuid) rows; keys are checked E.164 digits, uuids 36 ASCII chars."""
    records = (key.ljust(MAX_ROUTING_KEY).encode() + uuid.encode() for key, uuid in keys)
    for chunk in _chunks(records):
        cursor.execute(_INSERT_ROUTING_KEYS, (chunk,))


def add_routing_keys(cursor: Any, keys: Iterable[tuple[str, str]]) -> None:
    """`insert_routing_keys`, skipping a row the entry holds already."""
    records = (key.ljust(MAX_ROUTING_KEY).encode() + uuid.encode() for key, uuid in keys)
    for chunk in _chunks(records):
        cursor.execute(_ADD_ROUTING_KEYS, (chunk,))


def drop_stale_routing_keys(cursor: Any, keys: Mapping[str, Collection[str]]) -> None:
    """Delete each entry's routing keys that are not among its new ones (`keys[uuid]`)."""
    records = (_entry_keys(uuid, entry_keys) for uuid, entry_keys in keys.items())
    for chunk in _chunks(records):
        cursor.execute(_DROP_STALE_ROUTING_KEYS, (chunk,))


def _entry_keys(uuid: str, keys: Collection[str]) -> bytes:
    between = ",".join(sorted(map(check_routing_key, keys))).encode()
    listed = b"," + between + b"," if between else b","
    return b"%s%05d%s" % (uuid.encode(), len(listed), listed)


def insert_changelog_items(cursor: Any, items: Iterable[tuple[int, str, str]]) -> None:
    """Insert (sequence, uuid, kind) changelog items, of one change or of many."""
    records = (
        b"%019d" % sequence + uuid.encode() + kind.encode() for sequence, uuid, kind in items
    )
    for chunk in _chunks(records):
        cursor.execute(_INSERT_ITEMS, (chunk,))


def read_entries(cursor: Any) -> Iterator[tuple[str, str, str, bytes]]:
    """(uuid, DN, DN key, attribute data) of every entry not in UNPACKED_ENTRIES."""
    cursor.execute(_READ_ENTRIES)
    while rows := cursor.fetchmany(READ_CHUNKS):
        for (chunk,) in rows:
            yield from _unpack_entries(chunk)


def _unpack_entries(chunk: bytes) -> Iterator[tuple[str, str, str, bytes]]:
    position, end = 0, len(chunk)
    while position < end:
        head = position + UUID_LENGTH
        name_end = head + 3 * _LENGTH_DIGITS + int(chunk[head : head + 5])
        key_end = name_end + int(chunk[head + 5 : head + 10])
        data_end = key_end + int(chunk[head + 10 : head + 15])
        yield (
            chunk[position:head].decode("ascii"),
            chunk[head + 15 : name_end].decode("utf-8"),
            chunk[name_end:key_end].decode("utf-8"),
            chunk[key_end:data_end],
        )
        position = data_end


def key_chunks(keys: Sequence[tuple[str, str]]) -> Iterator[Sequence[tuple[str, str]]]:
    """The (key, uuid) rows in the groups `insert_routing_keys` sends in one statement each."""
    per_chunk = CHUNK_BYTES // _KEY_RECORD
    for start in range(0, len(keys), per_chunk):
        yield keys[start : start + per_chunk]


def _pack_entry(parameters: EntryParameters) -> bytes:
    uuid, dn, dn_key, key_hash, inline, _ = parameters
    name, key = dn.encode(), dn_key.encode()
    data = inline or b""
    lengths = b"%05d%05d%05d" % (len(name), len(key), len(data))
    return b"".join((uuid.encode(), lengths, name, key, key_hash, data))


def _chunks(records: Iterable[bytes]) -> Iterator[bytes]:
    """Records joined into parameters of at most CHUNK_BYTES (each record fits one)."""
    pending: list[bytes] = []
    size = 0
    for record in records:
        if size + len(record) > CHUNK_BYTES and pending:
            yield b"".join(pending)
            pending, size = [], 0
        pending.append(record)
        size += len(record)
    if pending:
        yield b"".join(pending)
