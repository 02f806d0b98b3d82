"""Storage test fixtures: one embedded Firebird runtime per test session, a database per test.

Every test that takes `database` (or `store`) runs twice: on an embedded database file in its
data directory, and on a database file of the session's private Firebird server (3.0 on Debian
12), so the SQL is proven on both stores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from firebird.driver import Connection

from ixidir.directory.ports import StoredEntry
from ixidir.storage import (
    DATABASE_FILE,
    FirebirdEntryStore,
    embedded,
    open_connection,
    open_entry_store,
)
from ixidir.storage.bindfailures import FirebirdBindFailures
from ixidir.storage.committed import CommittedSequence
from ixidir.storage.counters import FirebirdCounterStore, open_counter_store
from ixidir.storage.database import EMBEDDED_USER, open_database
from ixidir.storage.migrations import migrate
from ixidir.storage.rows import UPSERT, entry_parameters

if TYPE_CHECKING:  # tests/ is on sys.path under pytest only, not in `python -m` workers
    from private_firebird import PrivateFirebird

STORES = ("embedded", "server")


@dataclass(frozen=True, slots=True)
class Database:
    """A test's database: the embedded file in `data_dir` (dsn None) or a file on a server."""

    data_dir: Path
    runtime_root: Path
    dsn: str | None = None
    user: str = EMBEDDED_USER
    password: str | None = None
    server: PrivateFirebird | None = None

    @property
    def target(self) -> str | Path:
        return self.dsn if self.dsn is not None else self.data_dir / DATABASE_FILE

    def open(self, *, create: bool = False) -> FirebirdEntryStore:
        """The entry store on this database, as ixidir opens it."""
        return open_entry_store(
            self.data_dir,
            self.dsn,
            create=create,
            user=self.user,
            password=self.password,
            runtime_root=self.runtime_root,
        )

    def counters(self) -> FirebirdCounterStore:
        return open_counter_store(
            self.data_dir,
            self.dsn,
            user=self.user,
            password=self.password,
            runtime_root=self.runtime_root,
        )

    def bind_failures(self, *, generation: CommittedSequence | None = None) -> FirebirdBindFailures:
        return FirebirdBindFailures(
            open_connection(
                self.data_dir,
                self.dsn,
                create=False,
                user=self.user,
                password=self.password,
                runtime_root=self.runtime_root,
            ),
            generation=generation,
        )

    def connect(self, *, create: bool = False) -> Connection:
        """A plain driver connection (no migration), to build or inspect a schema by hand."""
        if create and self.dsn is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        return open_database(self.target, create=create, user=self.user, password=self.password)

    def create_at_version(self, version: int, *entries: StoredEntry) -> None:
        """Create the database an older release left behind: schema `version`, `entries`."""
        connection = self.connect(create=True)
        try:
            assert migrate(connection, target=version) == 0
            with connection.cursor() as cursor:
                for entry in entries:
                    cursor.execute(UPSERT, entry_parameters(entry))
            connection.commit()
        finally:
            connection.close()

    @classmethod
    def on_server(cls, server: PrivateFirebird, data_dir: Path, runtime_root: Path) -> Database:
        """A new database file on `server`."""
        return cls(
            data_dir,
            runtime_root,
            dsn=server.new_dsn(),
            user=server.user,
            password=server.password,
            server=server,
        )

    def another(self, data_dir: Path) -> Database:
        """A second, distinct database on the same store."""
        dsn = None if self.server is None else self.server.new_dsn()
        return replace(self, data_dir=data_dir, dsn=dsn)

    def worker_arguments(self) -> list[str]:
        """How tests/storage/worker.py finds this database: DATA DSN USER PASSWORD."""
        return [str(self.data_dir), self.dsn or "-", self.user, self.password or "-"]


@pytest.fixture(scope="session")
def runtime_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's Firebird root: the driver loads its client library once per process, so
    a root another test module prepared first (tests/directory) is the one to use."""
    prepared = embedded.runtime_root()
    return prepared or embedded.prepare_embedded_runtime(tmp_path_factory.mktemp("fb") / "root")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=STORES)
def database(request: pytest.FixtureRequest, data_dir: Path, runtime_root: Path) -> Database:
    """An empty place for the test's database, on each store in turn (not yet created)."""
    if request.param == "embedded":
        return Database(data_dir, runtime_root)
    server: PrivateFirebird = request.getfixturevalue("firebird_server")
    return Database.on_server(server, data_dir, runtime_root)


@pytest.fixture
def store(database: Database) -> Iterator[FirebirdEntryStore]:
    with database.open(create=True) as opened:
        yield opened


@pytest.fixture
def counters(store: FirebirdEntryStore, database: Database) -> Iterator[FirebirdCounterStore]:
    """A counter store on the test's database (created, with its schema, by `store`)."""
    with database.counters() as opened:
        yield opened


def person(name: str, **extra: list[bytes]) -> StoredEntry:
    """An inetOrgPerson-like entry under ou=people,dc=example,dc=com."""
    dn = f"uid={name},ou=people,dc=example,dc=com"
    attributes: dict[str, list[bytes]] = {
        "objectClass": [b"top", b"person", b"organizationalPerson", b"inetOrgPerson"],
        "uid": [name.encode()],
        "cn": [name.encode()],
        "sn": [name.encode()],
        **extra,
    }
    return StoredEntry(uuid=str(uuid.uuid4()), dn=dn, dn_key=dn.lower(), attributes=attributes)
