"""The user list as a console shows it (vendor manual §4.1): search, sort by a column, pages.

A page of 100,000 users must come as fast as one of 10, so the rows are made once per
directory generation (every write makes a new one) and sorted once per column; a page is then
a slice. A search looks in the names, uid and mail; a number in any formatting finds its owner
through the routing index (`Facade.route`), as an inbound fax would.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ixidir.admin.users import USER_CLASSES, Session
from ixidir.directory.dit import Entry

SORT_COLUMNS = ("displayName", "uid", "mail", "facsimileTelephoneNumber")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
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
    """Rows of every user, kept for one directory generation; one per server (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = -1
        self._rows: list[Row] = []
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
        if descending:
            ordered = ordered[::-1]
        pages = max(1, math.ceil(len(ordered) / size))
        page = max(1, min(page, pages))
        start = (page - 1) * size
        return Page(ordered[start : start + size], len(ordered), page, pages, sort, descending)

    def _ordered(self, session: Session, sort: str) -> list[Row]:
        state = session.directory.state
        with self._lock:
            # DIT.entries copies the entry list in one step (atomic under the GIL) and entries
            # are immutable, so this reads a consistent snapshot from any thread.
            if state.generation != self._generation:
                self._generation = state.generation
                self._rows = [_row(entry) for entry in state.dit.entries() if _is_user(entry)]
                self._sorted = {}
            found = self._sorted.get(sort)
            if found is None:
                found = self._sorted[sort] = sorted(self._rows, key=_SORT_KEYS[sort])
            return found


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
