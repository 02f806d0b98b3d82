"""Whether an import loads in bulk: forced writes off while it writes (ixidir.storage.writemode).

Only a first load or a restore into the embedded database, that is a directory holding nothing
but `ixidir init`'s entries, as slapadd -q loads a database no server uses yet; any other
import writes as every change does. The choice is made before the import's own attachment
opens the file, since an attachment keeps the write mode it opened with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ixidir.admin.initialize import init_dns
from ixidir.admin.runtime import open_store
from ixidir.config import Config
from ixidir.dn import DN
from ixidir.schema import load_default_schema
from ixidir.storage import database_file
from ixidir.storage.writemode import bulk_load


@contextmanager
def bulk_writes(data_dir: Path, config: Config, *, dry_run: bool) -> Iterator[Callable[[], None]]:
    """Yields `settle`: once the import has committed, it makes the file durable and turns
    forced writes on again (also done on leaving, should the import fail or never call it)."""
    database = database_file(data_dir, config.storage_dsn)
    if dry_run or database is None or not _holds_only_init(data_dir, config):
        yield lambda: None
        return
    with bulk_load(database) as settle:
        yield settle


def _holds_only_init(data_dir: Path, config: Config) -> bool:
    schema = load_default_schema()
    keys = frozenset(schema.dn_key(DN.parse(dn)) for dn in init_dns(config.base_dn))
    with open_store(data_dir, config) as store:
        return store.holds_only(keys)
