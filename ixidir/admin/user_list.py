"""The user list as a console shows it (vendor manual §4.1): search, sort by a column, pages.

A page of 100,000 users must come as fast as one of 10, so the rows are made once per
directory generation (every write makes a new one) and sorted once per column; a page is then
a slice. A search looks in the names, uid and mail; a number in any formatting finds its owner
through the routing index (`Facade.route`), as an inbound fax would.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ixidir.admin.users import USER_CLASSES, Session
from ixidir.directory.dit import Entry

SORT_COLUMNS = ("displayName", "uid", "mail", "facsimileTelephoneNumber")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# More changed users than this in one generation (an import): sort afresh rather than move each.
RESORT_AFTER = 2000
# A search that is only digits and what people write between them is a number to route.
_NUMBER = re.compile(r"\+?[0-9 ()/.-]{3,}")
_USER_CLASSES = frozenset(name.lower() for name in USER_CLASSES[1:])
_SEARCHED = ("displayName", "cn", "givenName", "sn", "uid", "mail")


@dataclass(frozen=True, slots=True)
class Row:
    """One user in the list (no secrets: only these columns)."""

    dn: str
    uid: str
    display_name: str
    mail: str
    numbers: tuple[str, ...]
    haystack: str  # the searched attributes, case-folded, for substring search


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Row]
    total: int  # users matching the search
    page: int  # 1-based, clamped to the pages there are
    pages: int
    sort: str
    descending: bool


class UserList:
    """Rows of every user, brought up to date per directory generation; one per server.

    A write replaces whole entries (dit.Entry is immutable), so an entry that is the same
    object as last time is unchanged: a new generation costs one pass of identity checks, and
    only the changed users' rows are made again and moved in the sorted lists (bisect), not
    100,000 rows made and sorted anew. Thread-safe: lists a page was cut from are never changed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = -1
        self._seen: dict[str, Entry] = {}  # every entry (users or not) as last seen, by uuid
        self._rows: dict[str, Row] = {}  # the users' rows, by uuid
        self._sorted: dict[str, list[Row]] = {}

    def page(
        self,
        session: Session,
        *,
        query: str = "",
        sort: str = "displayName",
        descending: bool = False,
        page: int = 1,
        size: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        """One page of the users matching `query`, sorted by `sort` (a SORT_COLUMNS name)."""
        if sort not in SORT_COLUMNS:
            sort = "displayName"
        size = max(1, min(size, MAX_PAGE_SIZE))
        ordered = self._ordered(session, sort)
        query = query.strip()
        if query:
            ordered = _matching(ordered, query, session)
        total = len(ordered)
        pages = max(1, math.ceil(total / size))
        page = max(1, min(page, pages))
        start = (page - 1) * size
        if descending:
            rows = ordered[max(0, total - start - size) : total - start][::-1]
        else:
            rows = ordered[start : start + size]
        return Page(rows, total, page, pages, sort, descending)

    def _ordered(self, session: Session, sort: str) -> list[Row]:
        state = session.directory.state
        with self._lock:
            if state.generation != self._generation:
                self._generation = state.generation
                self._refresh(state.dit.entries())
            found = self._sorted.get(sort)
            if found is None:
                found = self._sorted[sort] = sorted(self._rows.values(), key=_SORT_KEYS[sort])
            return found

    def _refresh(self, entries: Iterable[Entry]) -> None:
        """Catch up with the entries now in memory. DIT.entries copies the entry list in one
        step (atomic under the GIL), so this reads a consistent snapshot from any thread."""
        seen, rows = self._seen, self._rows
        current: dict[str, Entry] = {}
        gone: list[Row] = []
        made: list[Row] = []
        for entry in entries:
            current[entry.uuid] = entry
            if seen.get(entry.uuid) is entry:
                continue
            old = rows.pop(entry.uuid, None)
            if old is not None:
                gone.append(old)
            if _is_user(entry):
                row = rows[entry.uuid] = _row(entry)
                made.append(row)
        for uuid in seen.keys() - current.keys():
            old = rows.pop(uuid, None)
            if old is not None:
                gone.append(old)
        self._seen = current
        if len(gone) + len(made) > RESORT_AFTER:
            self._sorted = {}
            return
        self._sorted = {
            sort: _moved(ordered, gone, made, _SORT_KEYS[sort])
            for sort, ordered in self._sorted.items()
        }


def _moved(
    ordered: list[Row], gone: list[Row], made: list[Row], key: Callable[[Row], tuple[str, str]]
) -> list[Row]:
    """A new sorted list without `gone` and with `made` (a copy: pages may hold the old one)."""
    moved = list(ordered)
    for row in gone:
        index = bisect.bisect_left(moved, key(row), key=key)
        if index < len(moved) and moved[index] is row:
            del moved[index]
        else:  # not where its key says: should not happen; stay correct anyway
            moved.remove(row)
    for row in made:
        bisect.insort(moved, row, key=key)
    return moved


def _matching(rows: list[Row], query: str, session: Session) -> list[Row]:
    if _NUMBER.fullmatch(query) and sum(c.isdigit() for c in query) >= 3:
        owner = session.directory.route(query)
        if owner is not None:
            return [row for row in rows if row.dn == owner.dn_text]
        digits = "".join(c for c in query if c.isdigit())
        return [row for row in rows if any(digits in _digits(n) for n in row.numbers)]
    wanted = query.casefold()
    return [row for row in rows if wanted in row.haystack]


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _is_user(entry: Entry) -> bool:
    classes = entry.attributes.get("objectClass", ())
    return any(value.decode("ascii", "replace").lower() in _USER_CLASSES for value in classes)


def _row(entry: Entry) -> Row:
    attrs = entry.attributes

    def first(name: str) -> str:
        values = attrs.get(name)
        return values[0].decode("utf-8", "replace") if values else ""

    searched = (v.decode("utf-8", "replace") for n in _SEARCHED for v in attrs.get(n, ()))
    numbers = tuple(v.decode("utf-8", "replace") for v in attrs.get("facsimileTelephoneNumber", ()))
    return Row(
        dn=entry.dn_text,
        uid=first("uid"),
        display_name=first("displayName") or first("cn"),
        mail=first("mail"),
        numbers=numbers,
        haystack="\n".join(searched).casefold(),
    )


_SORT_KEYS: dict[str, Callable[[Row], tuple[str, str]]] = {
    "displayName": lambda row: (row.display_name.casefold(), row.dn),
    "uid": lambda row: (row.uid.casefold(), row.dn),
    "mail": lambda row: (row.mail.casefold(), row.dn),
    "facsimileTelephoneNumber": lambda row: (row.numbers[0] if row.numbers else "", row.dn),
}
