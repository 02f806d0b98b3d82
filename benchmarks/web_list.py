"""Median time of the web user list's first page, sorted by display name (issue 15).

In process: the list use-case (ixidir.admin.user_list.UserList) over USERS entries in a real
DIT, the way the web page calls it (page 1, 50 rows). It prints the first call after a write
(rows made and sorted for the new generation) and the median of the calls that follow; HTTP
and the template are not in it.

    python benchmarks/web_list.py 10 20000
"""

from __future__ import annotations

import statistics
import sys
import time
from types import SimpleNamespace
from typing import Any

from ixidir.admin.user_list import UserList
from ixidir.directory.dit import DIT, Entry

BASE = "ou=people,dc=example,dc=com"
ROUNDS = 21


def directory_of(users: int) -> Any:
    dit = DIT()
    for n in range(users):
        uid = f"user{n:06d}"
        attributes = {
            "objectClass": (b"top", b"person", b"inetOrgPerson", b"ixiUmsUser"),
            "uid": (uid.encode(),),
            "displayName": (f"Name{(n * 7919) % users:06d} Surname".encode(),),
            "mail": (f"{uid}@example.com".encode(),),
            "facsimileTelephoneNumber": (f"+49 8142 {1000000 + n}".encode(),),
        }
        dit.put(
            Entry(f"uuid-{n}", None, f"uid={uid},{BASE}", BASE, attributes, f"uid={uid},{BASE}")
        )
    state = SimpleNamespace(generation=1, dit=dit)
    return SimpleNamespace(state=state, route=lambda number: None)


def measure(users: int) -> tuple[float, float]:
    session: Any = SimpleNamespace(directory=directory_of(users))
    listing = UserList()
    started = time.perf_counter()
    listing.page(session, sort="displayName")
    first = time.perf_counter() - started
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        listing.page(session, sort="displayName")
        times.append(time.perf_counter() - started)
    return first, statistics.median(times)


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [10, 20000]
    for users in sizes:
        first, median = measure(users)
        print(f"{users:>7} users: first page after a write {first * 1000:8.2f} ms, "
              f"then median {median * 1000:.3f} ms ({ROUNDS} calls)")  # fmt: skip


if __name__ == "__main__":
    main()
