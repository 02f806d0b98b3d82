"""A separate process using the entry store, for the multi-process storage tests.

Usage: worker.py ROOT DATA DSN USER PASSWORD write PREFIX COUNT | ... wait TIMEOUT
(DSN and PASSWORD `-`: the embedded database in DATA.)
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from ixidir.directory.ports import PutEntry, StoredEntry
from ixidir.storage import FirebirdEntryStore, open_entry_store


def _open(root: Path, data: Path, dsn: str, user: str, password: str) -> FirebirdEntryStore:
    return open_entry_store(
        data,
        None if dsn == "-" else dsn,
        create=False,
        user=user,
        password=None if password == "-" else password,
        runtime_root=root,
    )


def write(store: FirebirdEntryStore, prefix: str, count: int) -> None:
    """Commit `count` entries one by one; print each commit's sequence."""
    with store:
        for number in range(count):
            dn = f"uid={prefix}{number},ou=people,dc=example,dc=com"
            entry = StoredEntry(str(uuid.uuid4()), dn, dn.lower(), {"uid": [dn[4:].encode()]})
            sys.stdout.write(f"{store.commit([PutEntry(entry)])}\n")


def wait(store: FirebirdEntryStore, timeout: float) -> None:
    """Say `ready` once listening, then report whether a change woke us and what it was."""
    with store:
        seen = store.last_sequence()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        woke = store.wait_for_change(timeout)
        dns = [entry.dn for change in store.changes_since(seen) for entry in change.puts]
        sys.stdout.write(f"{woke} {' '.join(dns)}\n")


def main(argv: list[str]) -> None:
    root, data, dsn, user, password, action, *rest = argv
    store = _open(Path(root), Path(data), dsn, user, password)
    if action == "write":
        write(store, rest[0], int(rest[1]))
    else:
        wait(store, float(rest[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
