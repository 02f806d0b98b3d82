"""What this process has open: Firebird's descriptors on a database file and their flags."""

from __future__ import annotations

import os
from pathlib import Path


def synchronous_descriptors(file: Path) -> list[bool]:
    """For each descriptor this process holds on `file`, whether it is O_DSYNC (how Firebird
    does forced writes on Linux), read from /proc."""
    found = []
    for link in Path("/proc/self/fd").iterdir():
        try:
            if link.resolve() != file.resolve():
                continue
            info = (Path("/proc/self/fdinfo") / link.name).read_text(encoding="ascii")
        except OSError:
            continue  # closed meanwhile
        flags = int(info.split("flags:")[1].split()[0], 8)
        found.append(bool(flags & os.O_DSYNC))
    return found
