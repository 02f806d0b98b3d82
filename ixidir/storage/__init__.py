"""Firebird adapters: the EntryStore port, embedded runtime bootstrap and schema migrations."""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

from firebird.driver import Connection

from ixidir.directory.ports import StorageUnavailable
from ixidir.storage.database import EMBEDDED_USER, open_database, parse_dsn
from ixidir.storage.embedded import prepare_embedded_runtime
from ixidir.storage.entries import FirebirdEntryStore
from ixidir.storage.migrations import SCHEMA_VERSION, migrate
from ixidir.storage.writemode import local_database, restore_forced_writes

DATABASE_FILE = "ixidir.fdb"
RUNTIME_FOLDER = "firebird-root"

__all__ = [
    "DATABASE_FILE",
    "SCHEMA_VERSION",
    "FirebirdEntryStore",
    "database_file",
    "open_connection",
    "open_entry_store",
    "runtime_root_for",
]


def open_entry_store(
    data_dir: Path | None,
    dsn: str | None,
    *,
    create: bool,
    user: str = EMBEDDED_USER,
    password: str | None = None,
    runtime_root: Path | None = None,
    cache_pages: int | None = None,
    acknowledges: bool = True,
) -> FirebirdEntryStore:
    """Open (or create) the entry store, with its schema migrated to SCHEMA_VERSION.

    The default is the embedded database `data_dir/ixidir.fdb`; `dsn` names another file or a
    Firebird server (`host[/port]:path` or `host:port/path`, see `database.parse_dsn`), and then
    `user`/`password` authenticate to that server. The Firebird runtime root lives in
    `data_dir/firebird-root` unless `runtime_root` says otherwise. Every process sharing a
    database file must use the same root: its `lock` folder is where they coordinate. A process
    has one root (see `embedded.prepare_embedded_runtime`). `acknowledges`: see
    FirebirdEntryStore.
    """
    connection = open_connection(
        data_dir, dsn, create=create, user=user, password=password, runtime_root=runtime_root,
        cache_pages=cache_pages,
    )  # fmt: skip
    reconnect = partial(
        open_connection, data_dir, dsn, create=False, user=user, password=password,
        runtime_root=runtime_root, cache_pages=cache_pages,
    )  # fmt: skip
    # The node's committed sequence lives beside the configuration (a data directory that
    # does not exist, e.g. a DSN-only test store's, has no node to share it with).
    node = data_dir if data_dir is not None and data_dir.is_dir() else None
    return FirebirdEntryStore(
        connection, committed_in=node, acknowledges=acknowledges, reconnect=reconnect
    )


def open_connection(
    data_dir: Path | None,
    dsn: str | None,
    *,
    create: bool,
    user: str = EMBEDDED_USER,
    password: str | None = None,
    runtime_root: Path | None = None,
    schema_version: int = SCHEMA_VERSION,
    cache_pages: int | None = None,
) -> Connection:
    """A plain connection to the database `open_entry_store` opens, its schema migrated to
    `schema_version` (a restore fills a database at its backup's version, then migrates)."""
    if dsn is None:
        if data_dir is None:
            raise StorageUnavailable("no data directory and no database DSN given")
        target: str | Path = data_dir / DATABASE_FILE
    else:
        target = dsn
    prepare_embedded_runtime(runtime_root or runtime_root_for(data_dir))
    if create and not parse_dsn(target).is_server:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    connection = open_database(
        target, create=create, user=user, password=password, cache_pages=cache_pages
    )
    try:
        migrate(connection, target=schema_version)
        local = local_database(target)
        if local is not None:
            restore_forced_writes(connection, local)  # a bulk load killed half way
    except BaseException:
        connection.close()
        raise
    return connection


def database_file(data_dir: Path, dsn: str | None) -> Path | None:
    """The local file `open_entry_store` opens for these settings; None for a server's."""
    return data_dir / DATABASE_FILE if dsn is None else local_database(dsn)


def runtime_root_for(data_dir: Path | None) -> Path:
    """The private Firebird root: in the data directory, or per user in the temp folder."""
    if data_dir is not None:
        return data_dir / RUNTIME_FOLDER
    return Path(tempfile.gettempdir()) / f"ixidir-firebird-{os.getuid()}"
