"""Opening a data directory: configuration, the Firebird store and the directory loaded on it.

Shared by every command that touches the data (serve, import, export, route, user management),
so they all build the directory the same way from `ixidir.toml`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from firebird.driver import Connection

from ixidir.admin.heap import loading_heap
from ixidir.admin.warmstart import load_directory
from ixidir.config import Config, load_config, resolve_path
from ixidir.directory.directory import Directory, DirectorySettings
from ixidir.directory.requests import AccessClass, Principal
from ixidir.schema import load_default_schema
from ixidir.server.capabilities import root_dse_extra
from ixidir.storage import SCHEMA_VERSION, FirebirdEntryStore, open_connection, open_entry_store
from ixidir.storage.counters import FirebirdCounterStore, open_counter_store
from ixidir.storage.database import EMBEDDED_USER


@dataclass(frozen=True, slots=True)
class Opened:
    """A data directory ready to use; `admin` is the principal local commands act as."""

    data_dir: Path
    config: Config
    store: FirebirdEntryStore
    directory: Directory

    @property
    def admin(self) -> Principal:
        return Principal(dn=f"cn=admin,{self.config.base_dn}", access=AccessClass.ADMIN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def settings_from(config: Config, *, extended_oids: list[str] | None = None) -> DirectorySettings:
    return DirectorySettings(
        service_accounts=config.service_accounts,
        anonymous_read=config.anonymous_read,
        indexed_attributes=config.indexed_attributes,
        routing_attributes=config.routing_attributes,
        password_scheme=config.password_scheme,
        size_limit=config.size_limit,
        time_limit=config.time_limit,
        root_dse_extra=root_dse_extra(extended_oids),
    )


def open_store(
    data_dir: Path,
    config: Config,
    *,
    create: bool = False,
    cache_pages: int | None = None,
    acknowledges: bool = True,
) -> FirebirdEntryStore:
    """The configured store: the embedded file in `data_dir`, or the Firebird server's DSN.
    `acknowledges`: see FirebirdEntryStore (False for a server's entry writer)."""
    user, password = _login(data_dir, config)
    return open_entry_store(
        data_dir, config.storage_dsn, create=create, user=user, password=password,
        cache_pages=cache_pages, acknowledges=acknowledges,
    )  # fmt: skip


def open_database_of(
    data_dir: Path,
    config: Config,
    *,
    create: bool = False,
    schema_version: int = SCHEMA_VERSION,
    cache_pages: int | None = None,
) -> Connection:
    """A plain connection to the configured database (backup and restore read whole tables)."""
    user, password = _login(data_dir, config)
    return open_connection(
        data_dir, config.storage_dsn, create=create, user=user, password=password,
        schema_version=schema_version, cache_pages=cache_pages,
    )  # fmt: skip


def _login(data_dir: Path, config: Config) -> tuple[str, str | None]:
    """The Firebird user and password the configuration names (else the embedded user)."""
    password = None
    if config.storage_password_file:
        path = resolve_path(data_dir, config.storage_password_file)
        password = path.read_text(encoding="utf-8").strip()
    user = config.storage_user if config.storage_dsn and config.storage_user else EMBEDDED_USER
    return user, password


def open_counters(data_dir: Path, config: Config) -> FirebirdCounterStore:
    """The daily-limit counters, in the same database as the entries."""
    password = None
    if config.storage_password_file:
        password = resolve_path(data_dir, config.storage_password_file).read_text().strip()
    if config.storage_dsn and config.storage_user:
        return open_counter_store(
            data_dir, config.storage_dsn, user=config.storage_user, password=password
        )
    return open_counter_store(data_dir, config.storage_dsn, password=password)


def build_directory(
    data_dir: Path,
    config: Config,
    store: FirebirdEntryStore,
    *,
    extended_oids: list[str] | None = None,
) -> Directory:
    return Directory(
        schema=load_default_schema(),
        store=store,
        base_dn=config.base_dn,
        settings=settings_from(config, extended_oids=extended_oids),
        clock=utc_now,
        new_uuid=new_uuid,
    )


@contextmanager
def opened(
    data_dir: Path, *, load: bool = True, cache_pages: int | None = None
) -> Iterator[Opened]:
    """Open and (by default) load the directory of `data_dir`; closes the store afterwards.

    `cache_pages`: a larger page cache for this process's attachment (bulk writes)."""
    config = load_config(data_dir)
    store = open_store(data_dir, config, cache_pages=cache_pages)
    try:
        if load:
            with loading_heap():
                loaded = load_directory(
                    data_dir, store, lambda: build_directory(data_dir, config, store)
                )
            directory = loaded.directory
        else:
            directory = build_directory(data_dir, config, store)
        yield Opened(data_dir, config, store, directory)
    finally:
        store.close()
