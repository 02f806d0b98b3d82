"""`ixidir backup -o FILE` of a running site, and `ixidir restore FILE` into a new data directory.

A backup holds every table of the database (entries, changelog, routing keys, daily counts, and
whatever a later migration adds) as one read-only snapshot transaction saw them: consistent at
one moment while the site goes on writing (ixidir.storage.backup). It also carries the data
directory's `ixidir.toml`. A restore makes a new embedded database at the backup's schema
version, fills it, migrates it to this ixidir's version and writes the configuration; the next
`ixidir serve` loads it (there is no snapshot yet, so that start is cold).
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ixidir import __version__
from ixidir.admin.errors import AdminError
from ixidir.admin.runtime import open_database_of
from ixidir.admin.transfer import IMPORT_CACHE_PAGES
from ixidir.config import CONFIG_FILE, Config, load_config, write_config
from ixidir.storage import DATABASE_FILE, SCHEMA_VERSION
from ixidir.storage.backup import BackupError, read_header, restore_backup, write_backup
from ixidir.storage.migrations import migrate

# gzip level 1: the backup of 100,000 users shrinks ~4x at level 1; higher levels cost seconds
# for a few percent.
COMPRESS_LEVEL = 1


def backup(data_dir: Path, output: Path) -> int:
    """Write the backup to `output` (atomically: a failed backup leaves no file)."""
    config = load_config(data_dir)
    header = {
        "ixidir": __version__,
        "schema_version": SCHEMA_VERSION,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": (data_dir / CONFIG_FILE).read_text(encoding="utf-8"),
        "files": _site_files(data_dir, config),
    }
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    connection = open_database_of(data_dir, config)
    try:
        # 0600: the backup holds the password and PIN hashes the database holds.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with (
            os.fdopen(descriptor, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=COMPRESS_LEVEL) as out,
        ):
            counts = write_backup(connection, out, header)
        partial.replace(output)
    finally:
        connection.close()
        partial.unlink(missing_ok=True)
    rows = sum(counts.values())
    sys.stderr.write(
        f"backed up {counts.get('ENTRIES', 0)} entries ({rows} rows of {len(counts)} tables) "
        f"to {output}\n"
    )
    return 0


def restore(data_dir: Path, path: Path) -> int:
    """Restore the backup at `path` into the new data directory `data_dir`."""
    for name in (CONFIG_FILE, DATABASE_FILE):
        if (data_dir / name).exists():
            raise AdminError(
                f"{data_dir / name} exists: restore needs a new data directory (--data DIR)"
            )
    try:
        header = read_header(path)
    except BackupError as exc:
        raise AdminError(str(exc)) from None
    version = header.get("schema_version")
    if not isinstance(version, int) or not 0 < version <= SCHEMA_VERSION:
        raise AdminError(
            f"{path} has schema version {version}; this ixidir knows up to {SCHEMA_VERSION}: "
            "restore it with the ixidir that wrote it, or a newer one"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        counts = _restore_into(data_dir, path, header, version)
    except BaseException:
        for name in (CONFIG_FILE, DATABASE_FILE):
            (data_dir / name).unlink(missing_ok=True)
        raise
    sys.stderr.write(
        f"restored {counts.get('ENTRIES', 0)} entries from {path} into {data_dir} "
        f"(taken {header.get('taken_at')})\n"
    )
    return 0


def _restore_into(
    data_dir: Path, path: Path, header: dict[str, object], version: int
) -> dict[str, int]:
    text = header.get("config")
    if not isinstance(text, str):
        raise AdminError(f"{path} carries no ixidir.toml")
    (data_dir / CONFIG_FILE).write_text(text, encoding="utf-8")
    _write_site_files(data_dir, header.get("files"), path)
    config = load_config(data_dir)
    if config.storage_dsn is not None:
        # The restore is an embedded database here; a site on a Firebird server restores
        # there by pointing storage_dsn at the new database afterwards.
        config = dataclasses.replace(
            config, storage_dsn=None, storage_user=None, storage_password_file=None
        )
        write_config(data_dir, config)
    # The database is created first, then attached again with an import's page cache.
    open_database_of(data_dir, config, create=True, schema_version=version).close()
    connection = open_database_of(
        data_dir, config, schema_version=version, cache_pages=IMPORT_CACHE_PAGES
    )
    try:
        try:
            counts = restore_backup(connection, path)
        except BackupError as exc:
            raise AdminError(f"{exc}; nothing was restored") from None
        migrate(connection)
    finally:
        connection.close()
    return counts


def _site_files(data_dir: Path, config: Config) -> dict[str, str]:
    """The TLS files ixidir.toml names inside the data directory (base64), so the restored
    site serves TLS with the same certificate; the backup is 0600, as it holds the key as it
    holds the password hashes. Files named by an absolute path stay where they are."""
    files: dict[str, str] = {}
    for name in (config.tls_certificate, config.tls_key):
        if name is not None and not Path(name).is_absolute():
            files[name] = base64.b64encode((data_dir / name).read_bytes()).decode("ascii")
    return files


def _write_site_files(data_dir: Path, files: object, path: Path) -> None:
    if files is None:
        return  # a backup from before TLS files were carried
    if not isinstance(files, dict):
        raise AdminError(f"{path}: its list of site files is damaged; nothing was restored")
    root = data_dir.resolve()
    for name, content in files.items():
        target = (data_dir / str(name)).resolve()
        if not target.is_relative_to(root) or not isinstance(content, str):
            raise AdminError(f"{path}: site file {name!r} is not a file in the data directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(base64.b64decode(content))
