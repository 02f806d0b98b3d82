"""Storage test fixtures: one embedded Firebird runtime per test session, a database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ixidir.directory.ports import StoredEntry
from ixidir.storage import FirebirdEntryStore, embedded, open_entry_store
from ixidir.storage.counters import FirebirdCounterStore, open_counter_store


@pytest.fixture(scope="session")
def runtime_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's Firebird root: the driver loads its client library once per process, so
    a root another test module prepared first (tests/directory) is the one to use."""
    prepared = embedded.runtime_root()
    return prepared or embedded.prepare_embedded_runtime(tmp_path_factory.mktemp("fb") / "root")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path, runtime_root: Path) -> Iterator[FirebirdEntryStore]:
    with open_entry_store(data_dir, None, create=True, runtime_root=runtime_root) as opened:
        yield opened


@pytest.fixture
def counters(
    store: FirebirdEntryStore, data_dir: Path, runtime_root: Path
) -> Iterator[FirebirdCounterStore]:
    """A counter store on the test's database (created, with its schema, by `store`)."""
    with open_counter_store(data_dir, None, runtime_root=runtime_root) as opened:
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
