"""`ixidir route NUMBER`: which user an inbound number reaches (its mail and DN)."""

from __future__ import annotations

import sys
from pathlib import Path

from ixidir.admin.runtime import opened


def print_route(data_dir: Path, number: str) -> int:
    """Print `mail<TAB>dn` of the entry the number routes to; exit status 1 when none."""
    with opened(data_dir) as data:
        entry = data.directory.route(number)
    if entry is None:
        sys.stderr.write(f"no entry routes {number}\n")
        return 1
    mail = entry.attributes.get("mail", (b"",))[0].decode("utf-8", "replace")
    sys.stdout.write(f"{mail}\t{entry.dn}\n")
    return 0
