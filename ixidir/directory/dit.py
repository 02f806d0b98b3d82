"""The in-memory DIT: immutable entry snapshots by DN key and by entryUUID, and the tree shape.

Writes replace whole `Entry` objects, never mutate one, so a search that holds an entry (or is
between two yields) never sees a half-applied write. Iteration copies each child list when it
reaches it, so the tree may change under a lazy search without breaking it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import cast

from ixidir.dn import DN

Values = tuple[bytes, ...]
EntryAttributes = Mapping[str, Values]


class Entry:
    """One entry as held in memory; `attributes` are keyed by primary attribute name.

    Values are tuples (immutable, and hashable for the filter evaluator's normalization cache).
    `parent_key` is the DN key of the superior entry ("" for a naming context). Immutable:
    writes replace whole entries.

    `dn` is parsed from `dn_text` on first use: most entries are only ever read by key and
    answered with their text, and parsing 100,000 DNs took 1.3 s of every start-up.

    `memo` holds what callers derive from this snapshot alone (the server keeps a routing
    answer's encoded entry there, DESIGN.md fast path): a write replaces the entry, and the
    memo goes with it, so nothing derived from old data is ever served. One remembered item is
    held as a (key, value) pair, more in a dict: nearly every entry has one presentation (the
    connector's), and a dict of one item costs 224 bytes, the pair 56 (22 MiB per worker once
    100,000 users were routed).
    """

    __slots__ = ("_dn", "attributes", "dn_key", "dn_text", "memo", "parent_key", "uuid")

    uuid: str
    dn_key: str
    parent_key: str
    attributes: EntryAttributes
    dn_text: str  # the DN's string form, made once: every search result carries it
    _dn: DN | None
    memo: tuple[Hashable, object] | dict[Hashable, object] | None  # made on first `remember`

    def __init__(
        self,
        uuid: str,
        dn: DN | None,
        dn_key: str,
        parent_key: str,
        attributes: EntryAttributes,
        dn_text: str = "",
    ) -> None:
        if dn is None and not dn_text and dn_key:
            raise ValueError("an entry needs its DN or the DN's text")
        text = dn_text or (str(dn) if dn is not None else "")
        for name, value in (
            ("uuid", uuid),
            ("_dn", dn),
            ("dn_key", dn_key),
            ("parent_key", parent_key),
            ("attributes", attributes),
            ("dn_text", text),
            ("memo", None),
        ):
            object.__setattr__(self, name, value)

    @property
    def dn(self) -> DN:
        if self._dn is None:
            object.__setattr__(self, "_dn", DN.parse(self.dn_text))
        return cast(DN, self._dn)

    def recall(self, key: Hashable) -> object | None:
        """What `remember` kept under `key`, or None."""
        memo = self.memo
        if memo is None:
            return None
        if isinstance(memo, tuple):
            return memo[1] if memo[0] == key else None
        return memo.get(key)

    def remember(self, key: Hashable, value: object, *, limit: int) -> None:
        """Keep `value` with this snapshot; past `limit` keys the memo starts afresh."""
        memo = self.memo
        if memo is None or (isinstance(memo, tuple) and (memo[0] == key or limit < 2)):
            object.__setattr__(self, "memo", (key, value))
        elif isinstance(memo, tuple):
            object.__setattr__(self, "memo", {memo[0]: memo[1], key: value})
        else:
            if len(memo) >= limit:
                memo.clear()
            memo[key] = value

    def remembered(self) -> int:
        """How many items the memo holds (tests of its bound)."""
        memo = self.memo
        if memo is None:
            return 0
        return 1 if isinstance(memo, tuple) else len(memo)

    def with_uuid(self, uuid: str) -> Entry:
        """The same entry under another entryUUID (an import keeping a store identity)."""
        return Entry(uuid, self._dn, self.dn_key, self.parent_key, self.attributes, self.dn_text)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Entry is immutable: cannot set {name}")

    def __repr__(self) -> str:
        return f"Entry(uuid={self.uuid!r}, dn={self.dn_text!r})"


class DIT:
    """Entries by DN key and by uuid, plus parent → children; no schema, no storage."""

    def __init__(self) -> None:
        self._by_key: dict[str, Entry] = {}
        self._by_uuid: dict[str, Entry] = {}
        # dict as an ordered set: children come out in the order they were added.
        self._children: dict[str, dict[str, None]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, dn_key: str) -> Entry | None:
        return self._by_key.get(dn_key)

    def by_uuid(self, uuid: str) -> Entry | None:
        return self._by_uuid.get(uuid)

    def has_children(self, dn_key: str) -> bool:
        return bool(self._children.get(dn_key))

    def children(self, dn_key: str) -> list[Entry]:
        """The direct subordinates, as a list copied now."""
        return [self._by_key[key] for key in list(self._children.get(dn_key, ()))]

    def entries(self) -> Iterator[Entry]:
        """Every entry (copied up front: callers may write while iterating)."""
        return iter(list(self._by_key.values()))

    def subtree(self, dn_key: str, *, include_base: bool = True) -> Iterator[Entry]:
        """The entry and everything below it, depth first, parents before children."""
        base = self._by_key.get(dn_key)
        if base is None:
            return
        stack = [list(self._children.get(dn_key, ()))[::-1]]
        if include_base:
            yield base
        while stack:
            level = stack[-1]
            if not level:
                stack.pop()
                continue
            key = level.pop()
            entry = self._by_key.get(key)
            if entry is None:
                continue  # deleted since this level was copied
            yield entry
            below = self._children.get(key)
            if below:
                stack.append(list(below)[::-1])

    def is_within(self, entry: Entry, base_key: str) -> bool:
        """Whether `base_key` is the entry or one of its ancestors (walks parent keys)."""
        key: str | None = entry.dn_key
        for _ in range(len(self._by_key) + 1):  # never more steps than entries (no cycles)
            if key == base_key:
                return True
            if key is None or not key:
                return False
            current = self._by_key.get(key)
            key = current.parent_key if current is not None else None
        return False

    def deepest_existing(self, dn: DN, key_of: Callable[[DN], str]) -> str:
        """The DN (as stored) of the nearest existing ancestor of `dn`, "" if none: RFC 4511
        §4.1.10 matchedDN for noSuchObject."""
        for depth in range(1, len(dn.rdns)):
            found = self._by_key.get(key_of(DN(dn.rdns[depth:])))
            if found is not None:
                return str(found.dn)
        return ""

    # --- writes: only ever called after the store committed -----------------------------

    def put(self, entry: Entry) -> Entry | None:
        """Insert or replace (by uuid, so a rename moves it); returns the previous snapshot."""
        old = self._by_uuid.get(entry.uuid)
        if old is not None and old.dn_key != entry.dn_key:
            self._unlink(old)
        self._by_uuid[entry.uuid] = entry
        self._by_key[entry.dn_key] = entry
        if entry.dn_key:
            self._children.setdefault(entry.parent_key, {})[entry.dn_key] = None
        return old

    def remove(self, uuid: str) -> Entry | None:
        old = self._by_uuid.pop(uuid, None)
        if old is not None:
            self._unlink(old)
        return old

    def _unlink(self, entry: Entry) -> None:
        current = self._by_key.get(entry.dn_key)
        if current is not None and current.uuid == entry.uuid:
            del self._by_key[entry.dn_key]
        siblings = self._children.get(entry.parent_key)
        if siblings is not None:
            siblings.pop(entry.dn_key, None)
            if not siblings:
                del self._children[entry.parent_key]

    def export(self) -> tuple[list[Entry], dict[str, list[str]]]:
        """Every entry, and each parent's children in order (for ixidir.directory.image)."""
        children = {parent: list(keys) for parent, keys in self._children.items()}
        return list(self._by_key.values()), children

    def restore(self, entries: Iterable[Entry], children: Mapping[str, Iterable[str]]) -> None:
        """Become exactly what `export` returned (replaces everything held)."""
        self._by_key = {entry.dn_key: entry for entry in entries}
        self._by_uuid = {entry.uuid: entry for entry in self._by_key.values()}
        self._children = {parent: dict.fromkeys(keys) for parent, keys in children.items()}

    def load(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.put(entry)
