"""A separate process using the entry store, for the multi-process storage tests.

Usage: worker.py ROOT DATA write PREFIX COUNT  |  worker.py ROOT DATA wait TIMEOUT
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from ixidir.directory.ports import PutEntry, StoredEntry
from ixidir.storage import open_entry_store


def write(data: Path, root: Path, prefix: str, count: int) -> None:
    """Commit `count` entries one by one; print each commit's sequence."""
    with open_entry_store(data, None, create=False, runtime_root=root) as store:
        for number in range(count):
            dn = f"uid={prefix}{number},ou=people,dc=example,dc=com"
            entry = StoredEntry(str(uuid.uuid4()), dn, dn.lower(), {"uid": [dn[4:].encode()]})
            sys.stdout.write(f"{store.commit([PutEntry(entry)])}\n")


def wait(data: Path, root: Path, timeout: float) -> None:
    """Say `ready` once listening, then report whether a change woke us and what it was."""
    with open_entry_store(data, None, create=False, runtime_root=root) as store:
        seen = store.last_sequence()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        woke = store.wait_for_change(timeout)
        dns = [entry.dn for change in store.changes_since(seen) for entry in change.puts]
        sys.stdout.write(f"{woke} {' '.join(dns)}\n")


def main(argv: list[str]) -> None:
    root, data, action, *rest = argv
    if action == "write":
        write(Path(data), Path(root), rest[0], int(rest[1]))
    else:
        wait(Path(data), Path(root), float(rest[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
