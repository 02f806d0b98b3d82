"""Forced writes off for one bulk load of an embedded database, made durable by one fsync.

With forced writes on, Firebird opens the file O_DSYNC and each page a commit writes waits for
the disk: an import of 20,000 users wrote ~2,600 pages, 1.4-3.4 s of waiting on the shared
build machine (strace), against 0.08 s without and one fsync of the file after the commit.

An attachment keeps the write mode the database had when it attached. So `bulk_load` turns
forced writes off, the loader attaches, and that attachment's own opening turns them on again
at once (`restore_forced_writes`, which every entry store's opening runs): only the loader
writes unforced, every other attachment (a server, a CLI command) keeps forced writes, and a
load killed half way leaves none off. The loader's commit has written its pages to the file
when it returns; `settle` fsyncs the file before the load is reported, so durability is what
it was. What the loader gives up is Firebird's careful ordering of page writes should the
machine itself fail while it writes (slapadd -q makes the same trade): the caller uses it only
for a directory that holds nothing yet but `ixidir init`'s entries (ixidir.admin.bulkload).
Only local (embedded) files: a Firebird server's settings are its administrator's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from firebird.driver import Connection, DbWriteMode, connect_server
from firebird.driver import Error as DriverError

from ixidir.storage.database import EMBEDDED_USER, parse_dsn, translate

_SERVICE_MANAGER = "service_mgr"  # the embedded engine's own service manager (no host)


def local_database(target: str | Path) -> Path | None:
    """The file of a database opened by its path (embedded), None for a Firebird server's."""
    return None if parse_dsn(target).is_server else Path(target)


def set_forced_writes(database: Path, *, on: bool) -> None:
    """Switch the database's forced writes (its header; every attachment follows)."""
    mode = DbWriteMode.SYNC if on else DbWriteMode.ASYNC
    try:
        with connect_server(_SERVICE_MANAGER, user=EMBEDDED_USER) as server:
            server.database.set_write_mode(database=str(database), mode=mode)
    except DriverError as exc:
        raise translate(exc, "switching forced writes") from exc


def forced_writes(connection: Connection) -> bool:
    """Whether the database of `connection` writes its pages synchronously."""
    try:
        return bool(connection.info.write_mode == DbWriteMode.SYNC)
    except DriverError as exc:
        raise translate(exc, "reading the write mode") from exc


def restore_forced_writes(connection: Connection, database: Path) -> bool:
    """Turn forced writes back on if a bulk load was stopped before it could; True if it did."""
    if forced_writes(connection):
        return False
    set_forced_writes(database, on=True)
    return True


@contextmanager
def bulk_load(database: Path) -> Iterator[Callable[[], None]]:
    """Forced writes off for attachments made while the block runs. The block calls the
    `settle` it is given once it has committed (Firebird's commit has written the pages to the
    file by then): the file is fsynced and forced writes are on again. Leaving the block
    settles too, if the block did not."""
    set_forced_writes(database, on=False)
    settled = False

    def settle() -> None:
        nonlocal settled
        if not settled:
            settled = True
            try:
                _fsync(database)
            finally:
                set_forced_writes(database, on=True)

    try:
        yield settle
    finally:
        settle()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
