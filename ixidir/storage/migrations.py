"""Versioned schema migrations, kept in code and recorded in the SCHEMA_VERSION table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from firebird.driver import Connection
from firebird.driver import Error as DriverError

from ixidir.directory.ports import StorageError
from ixidir.storage.database import translate

CHANGE_EVENT = "ixidir_change"


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step.

    Firebird applies DDL only at commit, so every statement is committed on its own. Each must be
    safe to run again (RECREATE, CREATE OR ALTER, UPDATE OR INSERT): a step interrupted half way
    is simply run again on the next open.
    """

    version: int
    purpose: str
    statements: Sequence[str]


# Every statement runs on Firebird 3.0 and later (DESIGN.md "Store"): no BINARY/VARBINARY (4.0
# names for CHAR/VARCHAR CHARACTER SET OCTETS, which they stay in a 4.0 database, so databases
# created with those names have exactly these columns), no time zones, no DB_GUID.
#
# DN and DN key: 2000 characters. A UNIQUE index on a UTF8 VARCHAR fails beyond about 1020
# characters with 16 KiB pages ("key size exceeds implementation restriction"), so uniqueness is
# enforced on DN_KEY_HASH, the SHA-256 of the key's UTF-8 bytes. Attributes up to 32000 bytes live
# inline in ATTRS: fetching 100,000 rows took 2.5 s from a VARBINARY and 6.2 s from a BLOB;
# larger entries (photos, certificates) go to ATTRS_LARGE. The trigger's change event is no
# longer listened for (followers poll, storage/entries.POLL_SECONDS); it stays, as dropping it
# would take a migration for a cost nobody measured.
_MIGRATION_1 = Migration(
    1,
    "entries, changelog and its change event",
    (
        """RECREATE TABLE ENTRIES (
            UUID CHAR(36) CHARACTER SET ASCII NOT NULL PRIMARY KEY,
            DN VARCHAR(2000) NOT NULL,
            DN_KEY VARCHAR(2000) NOT NULL,
            DN_KEY_HASH CHAR(32) CHARACTER SET OCTETS NOT NULL
                CONSTRAINT ENTRIES_DN_KEY_UNIQUE UNIQUE,
            ATTRS VARCHAR(32000) CHARACTER SET OCTETS,
            ATTRS_LARGE BLOB SUB_TYPE BINARY)""",
        # One row whose update, made last in every write transaction, hands out the sequence
        # numbers: the row lock is held to commit, so sequence order is commit order and a
        # follower reading "everything after N" never skips a slower, lower-numbered write.
        """RECREATE TABLE CHANGELOG_HEAD (
            ID SMALLINT NOT NULL PRIMARY KEY,
            SEQ BIGINT NOT NULL)""",
        """RECREATE TABLE CHANGELOG (
            SEQ BIGINT NOT NULL PRIMARY KEY,
            COMMITTED_AT TIMESTAMP NOT NULL)""",
        """RECREATE TABLE CHANGELOG_ITEMS (
            SEQ BIGINT NOT NULL,
            UUID CHAR(36) CHARACTER SET ASCII NOT NULL,
            KIND CHAR(1) CHARACTER SET ASCII NOT NULL CHECK (KIND IN ('P', 'D')),
            PRIMARY KEY (SEQ, UUID))""",
        f"""CREATE OR ALTER TRIGGER CHANGELOG_POSTS_EVENT FOR CHANGELOG AFTER INSERT AS
            BEGIN POST_EVENT '{CHANGE_EVENT}'; END""",
        "UPDATE OR INSERT INTO CHANGELOG_HEAD (ID, SEQ) VALUES (1, 0) MATCHING (ID)",
    ),
)

# Daily send counters (issue 4): one row per (entryUUID, service, site-local day), outside the
# entries so a reservation touches one small row. SERVICE is limits.policy.Service (0 fax, 1 sms,
# 2 voice); USED never goes below zero. LOCAL_DAY (DAY is reserved) is indexed for purging.
_MIGRATION_2 = Migration(
    2,
    "daily send counters",
    (
        """RECREATE TABLE DAILY_COUNTERS (
            USER_UUID CHAR(36) CHARACTER SET ASCII NOT NULL,
            SERVICE SMALLINT NOT NULL CHECK (SERVICE BETWEEN 0 AND 2),
            LOCAL_DAY DATE NOT NULL,
            USED BIGINT NOT NULL CHECK (USED >= 0),
            CONSTRAINT DAILY_COUNTERS_PK PRIMARY KEY (USER_UUID, SERVICE, LOCAL_DAY))""",
        "CREATE INDEX DAILY_COUNTERS_DAY ON DAILY_COUNTERS (LOCAL_DAY)",
        # Deleting a user removes its counts in the same transaction (issue 4). UPDATE OR INSERT
        # (modify, rename) fires no delete trigger, so only a real delete clears them.
        """CREATE OR ALTER TRIGGER ENTRIES_DELETE_COUNTERS FOR ENTRIES AFTER DELETE AS
            BEGIN DELETE FROM DAILY_COUNTERS WHERE USER_UUID = OLD.UUID; END""",
    ),
)

# Routing keys (SCHEMA.md "One number, one user"): the canonical E.164 digits of every routing
# number, one row per key, so the database refuses a key for a second entry even when two
# processes (server workers, the CLI) write it at the same instant; in-memory checks cannot see
# the other process's uncommitted write. A put replaces its entry's rows (PutEntry.routing_keys).
#
# Existing databases are not backfilled: keys are computed in Python with the site settings, so
# SQL cannot, and a backfill at load would put a full-table write (and a race between workers
# starting together) into start-up. Rows are filled as entries are written instead. That is
# enough: the race needs two writes that are both after this migration, and each records its
# keys; a number held by an entry last written before it is known to every process, because
# every process loaded that entry, and their in-memory check refuses it first.
_MIGRATION_3 = Migration(
    3,
    "routing keys, unique across entries",
    (
        """RECREATE TABLE ROUTING_KEYS (
            KEY VARCHAR(15) CHARACTER SET ASCII NOT NULL CONSTRAINT ROUTING_KEYS_PK PRIMARY KEY,
            ENTRY_UUID CHAR(36) CHARACTER SET ASCII NOT NULL)""",
        "CREATE INDEX ROUTING_KEYS_ENTRY ON ROUTING_KEYS (ENTRY_UUID)",
    ),
)

# The database's identity for change stamps (FirebirdEntryStore.change_stamp): a random GUID of
# our own, because RDB$GET_CONTEXT('SYSTEM', 'DB_GUID') exists only from Firebird 4. A database
# migrated from version 3 gets a new identity, so a snapshot written before is not used once
# (a cold start, never wrong data).
_MIGRATION_4 = Migration(
    4,
    "database identity for change stamps, on Firebird 3.0 and later",
    (
        """RECREATE TABLE DATABASE_IDENTITY (
            ID SMALLINT NOT NULL PRIMARY KEY,
            GUID CHAR(36) CHARACTER SET ASCII NOT NULL)""",
        "UPDATE OR INSERT INTO DATABASE_IDENTITY (ID, GUID) "
        "VALUES (1, UUID_TO_CHAR(GEN_UUID())) MATCHING (ID)",
    ),
)

# Failed binds (issue 12): one row per account or client address with failures, outside the
# entries, so a wrong password neither writes the changelog nor empties the answer cache, and
# every worker, node and restart sees the same count. SUBJECT is the SHA-256 of kind and name
# (directory/lockout.py), as a DN may be 2000 characters; NAME is the DN key or the address.
_MIGRATION_5 = Migration(
    5,
    "failed binds: account lockout and address throttle",
    (
        """RECREATE TABLE BIND_FAILURES (
            SUBJECT CHAR(64) CHARACTER SET ASCII NOT NULL CONSTRAINT BIND_FAILURES_PK PRIMARY KEY,
            KIND CHAR(1) CHARACTER SET ASCII NOT NULL CHECK (KIND IN ('A', 'N')),
            NAME VARCHAR(2000) NOT NULL,
            FAILURES INTEGER NOT NULL CHECK (FAILURES >= 0),
            WINDOW_START TIMESTAMP NOT NULL,
            LOCKED_AT TIMESTAMP)""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    _MIGRATION_1,
    _MIGRATION_2,
    _MIGRATION_3,
    _MIGRATION_4,
    _MIGRATION_5,
)
SCHEMA_VERSION = MIGRATIONS[-1].version


class SchemaTooNew(StorageError):
    """The database was migrated by a newer ixidir; this one must not write to it."""


def utc_now() -> datetime:
    """Now in UTC, as the naive TIMESTAMP the schema stores (Firebird 3 has no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


def migrate(connection: Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the database schema to SCHEMA_VERSION; return the version found before.

    Running it on an up-to-date database changes nothing. A database written by a newer ixidir
    raises StorageError rather than being used with a schema this code does not know. `target`
    stops at an older version: tests build the databases that earlier releases left behind.
    """
    try:
        _ensure_version_table(connection)
        found = _current_version(connection)
        if found > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database has schema version {found}, newer than this ixidir's "
                f"{SCHEMA_VERSION}: a newer ixidir has migrated it; upgrade ixidir on this node"
            )
        for migration in MIGRATIONS[found:target]:
            _apply(connection, migration)
    except DriverError as exc:
        connection.rollback()
        raise translate(exc, "migrating the database schema") from exc
    return found


def _ensure_version_table(connection: Connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM RDB$RELATIONS WHERE RDB$RELATION_NAME = 'SCHEMA_VERSION'"
        )
        row = cursor.fetchone()
        if row is not None and row[0]:
            return
        cursor.execute(
            """CREATE TABLE SCHEMA_VERSION (
                VERSION INTEGER NOT NULL PRIMARY KEY,
                PURPOSE VARCHAR(200) NOT NULL,
                APPLIED_AT TIMESTAMP NOT NULL)"""
        )
    connection.commit()


def _current_version(connection: Connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(VERSION), 0) FROM SCHEMA_VERSION")
        row = cursor.fetchone()
    connection.commit()
    return int(row[0]) if row is not None else 0


def _apply(connection: Connection, migration: Migration) -> None:
    with connection.cursor() as cursor:
        for statement in migration.statements:
            cursor.execute(statement)
            connection.commit()
        cursor.execute(
            "INSERT INTO SCHEMA_VERSION (VERSION, PURPOSE, APPLIED_AT) VALUES (?, ?, ?)",
            (migration.version, migration.purpose, utc_now()),
        )
    connection.commit()
