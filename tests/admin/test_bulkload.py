"""An import into a directory as `ixidir init` left it loads with forced writes off; any other
import, and a dry run, writes as every change does; forced writes are on afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from admin.test_warmstart import copy_data_dir
from integration.conftest import BASE_DN, DEMO_LDIF, init_data_dir, ixidir
from open_files import synchronous_descriptors

from ixidir.admin.bulkload import bulk_writes
from ixidir.admin.runtime import opened
from ixidir.config import load_config
from ixidir.storage import DATABASE_FILE
from ixidir.storage.database import open_database
from ixidir.storage.writemode import forced_writes


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("bulk") / "data"
    init_data_dir(data_dir, demo=False)
    return data_dir


def _loader_descriptors(data_dir: Path, *, dry_run: bool = False) -> list[bool]:
    """Whether the import's own attachment would write O_DSYNC, as `ixidir import` opens it."""
    config = load_config(data_dir)
    with bulk_writes(data_dir, config, dry_run=dry_run), opened(data_dir):
        return synchronous_descriptors(data_dir / DATABASE_FILE)


def _header_forces_writes(data_dir: Path) -> bool:
    """The database's own setting, read by an attachment that does not restore it."""
    connection = open_database(data_dir / DATABASE_FILE, create=False)
    try:
        return forced_writes(connection)
    finally:
        connection.close()


def test_a_first_load_writes_unforced(fresh: Path, tmp_path: Path) -> None:
    data_dir = copy_data_dir(fresh, tmp_path / "data", fresh)
    assert _loader_descriptors(data_dir) == [False]
    assert _header_forces_writes(data_dir)


def test_a_dry_run_changes_nothing(fresh: Path, tmp_path: Path) -> None:
    data_dir = copy_data_dir(fresh, tmp_path / "data", fresh)
    assert _loader_descriptors(data_dir, dry_run=True) == [True]


def test_an_import_into_a_directory_with_entries_keeps_forced_writes(
    fresh: Path, tmp_path: Path
) -> None:
    data_dir = copy_data_dir(fresh, tmp_path / "data", fresh)
    ixidir(data_dir, "import", str(DEMO_LDIF))
    assert _loader_descriptors(data_dir) == [True]


def test_an_import_leaves_forced_writes_on(fresh: Path, tmp_path: Path) -> None:
    data_dir = copy_data_dir(fresh, tmp_path / "data", fresh)
    ixidir(data_dir, "import", str(DEMO_LDIF))
    assert _header_forces_writes(data_dir)
    assert BASE_DN in ixidir(data_dir, "export").stdout
