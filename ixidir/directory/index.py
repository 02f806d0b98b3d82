"""Equality and presence indexes over the in-memory entries, and narrowing a compiled filter.

The index only ever narrows: `candidates` returns a superset of the entries a filter can match,
and the search still runs `CompiledFilter.matches` on each candidate, so results equal a scan.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from ixidir.directory.evaluate import (
    AndNode,
    ClassNode,
    CompiledFilter,
    ConstantNode,
    EqualityNode,
    Node,
    OrNode,
    PresentNode,
)
from ixidir.errors import InvalidAttributeSyntax
from ixidir.schema import MatchingRule, Schema

EntryId = Hashable
Attributes = Mapping[str, Sequence[bytes]]
# A value table's bucket: the one id holding the value, or a set once two do. Most values
# (uid, cn, mail, entryUUID) have one owner, and a set of one costs 216 bytes: at 100,000
# users the sets were 86 MiB of each worker's memory. An id is never a set (ids are hashable).
Bucket = EntryId | set[EntryId]
Table = dict[Hashable, Bucket]
# Presence of an attribute with a value table is its buckets (plus the entries holding a value
# its rule cannot read): a set of 100,000 ids, which nearly every user has for uid, cn, mail,
# sn, givenName and entryUUID, cost 4 MiB each per worker and narrowed nothing. `(attr=*)`
# narrows by the buckets while the table has at most this many keys; beyond, a scan decides
# (as for any filter that cannot narrow), which costs about what checking 100,000 candidates did.
PRESENCE_UNION_LIMIT = 4096
_T = TypeVar("_T")
# Finds the ids whose values equal a normalized key, for attributes indexed by someone else.
KeyLookup = Callable[[Hashable], set[EntryId] | frozenset[EntryId]]
_UNREADABLE = object()  # add_many's memo: the rule cannot read this value


class EqualityIndex:
    """Per configured attribute: normalized value → ids, and the ids that have the attribute.

    Attributes are configured by any name or OID and kept by primary name, as entries are.
    One without an equality rule gets a presence index only.
    """

    def __init__(
        self,
        schema: Schema,
        attributes: Iterable[str],
        *,
        rules: Mapping[str, MatchingRule] | None = None,
        keyed_elsewhere: Mapping[str, KeyLookup] | None = None,
    ) -> None:
        """`rules` replaces the schema's equality rule for some attributes (primary names): the
        routing attributes are keyed by canonical number (ixidir.directory.numbers).

        `keyed_elsewhere` names attributes whose values another index already keys by the same
        rule (the routing index): only their presence is kept here, and equality is answered
        by the given look-up, so 200,000 numbers are not canonicalized and stored twice.
        """
        overrides = rules or {}
        self._elsewhere = dict(keyed_elsewhere or {})
        self._rules: dict[str, MatchingRule | None] = {}
        for name in attributes:
            attr_type = schema.attribute(name)  # an unknown name is a configuration error
            self._rules[attr_type.name] = overrides.get(attr_type.name, attr_type.equality)
        self._values: dict[str, Table] = {
            name: {}
            for name, rule in self._rules.items()
            if rule is not None and name not in self._elsewhere
        }
        # Presence sets only for attributes without a value table (see PRESENCE_UNION_LIMIT);
        # for those with one, the ids holding a value the rule cannot read (no bucket has them).
        self._present: dict[str, set[EntryId]] = {
            name: set() for name in self._rules if name not in self._values
        }
        self._unreadable: dict[str, set[EntryId]] = {name: set() for name in self._values}
        # Values added with `defer_values`, per attribute, until its table is first used.
        self._pending: dict[str, list[tuple[EntryId, Sequence[bytes]]]] = {}

    @property
    def attributes(self) -> frozenset[str]:
        """Primary names of the indexed attributes."""
        return frozenset(self._rules)

    def add(self, entry_id: EntryId, attributes: Attributes) -> None:
        for name, values in attributes.items():
            if name in self._rules and values:
                self._add(entry_id, name, values)

    def add_many(
        self, items: Iterable[tuple[EntryId, Attributes]], *, defer_values: bool = False
    ) -> None:
        """Index many new entries (a load): each distinct value is normalized once per attribute.

        objectClass, sn and givenName values repeat across entries; at 100,000 users this
        halved the indexing time of a load. `defer_values` (a start from the store) keeps
        presence of attributes indexed elsewhere now, and an attribute's presence and values at
        the first use of its table: a start that routes at once need not pay for uid, cn and
        mail tables first (~2 s at 100,000 users, a third of a cold start), nor for a million
        presence insertions (0.2 s).
        """
        for entry_id, attributes in items:
            for name, values in attributes.items():
                if name not in self._rules or not values:
                    continue
                if name in self._values:
                    self._pending.setdefault(name, []).append((entry_id, values))
                else:
                    self._present[name].add(entry_id)
        if not defer_values:
            for name in list(self._pending):
                self._table(name)

    def _table(self, name: str) -> Table | None:
        """The value table of `name` (None: not kept here), its deferred values added first."""
        table = self._values.get(name)
        pending = self._pending.pop(name, None)
        if table is None or pending is None:
            return table
        rule = self._rules[name]
        if rule is None:
            return table
        unreadable = self._unreadable[name]
        seen: dict[bytes, Hashable] = {}
        for entry_id, values in pending:
            for value in values:
                key = seen.get(value)
                if key is None:
                    key = seen[value] = _normal_or_unreadable(rule, value)
                if key is _UNREADABLE:
                    unreadable.add(entry_id)
                else:
                    _put(table, key, entry_id)
        return table

    def remove(self, entry_id: EntryId, attributes: Attributes) -> None:
        """Forget an entry; `attributes` must be what was added for it."""
        for name, values in attributes.items():
            if name in self._rules and values:
                self._remove(entry_id, name, values)

    def replace(self, entry_id: EntryId, old: Attributes, new: Attributes) -> None:
        """Move an entry from `old` to `new` attributes, touching only attributes that changed."""
        for name in self._rules:
            before, after = old.get(name, ()), new.get(name, ())
            if before == after:
                continue
            if before:
                self._remove(entry_id, name, before)
            if after:
                self._add(entry_id, name, after)

    def reindex(
        self, attr: str, rule: MatchingRule, entries: Iterable[tuple[EntryId, Attributes]]
    ) -> None:
        """Key `attr` (a primary name) by a new rule, e.g. after the site settings changed."""
        self._rules[attr] = rule
        self._pending.pop(attr, None)  # every entry is added again below
        if attr not in self._elsewhere:
            self._values[attr] = {}
            self._unreadable[attr] = set()
            self._present.pop(attr, None)
        else:
            self._present[attr] = set()
        for entry_id, attributes in entries:
            values = attributes.get(attr)
            if values:
                self._add(entry_id, attr, values)

    def export(
        self,
    ) -> tuple[dict[str, Table], dict[str, set[EntryId]], dict[str, set[EntryId]]]:
        """The value tables, presence sets and unreadable-value sets themselves, not copies:
        read them before the next change."""
        for name in list(self._pending):
            self._table(name)
        return self._values, self._present, self._unreadable

    def restore(
        self,
        values: Mapping[str, Mapping[Hashable, Bucket]],
        present: Mapping[str, Iterable[EntryId]],
        unreadable: Mapping[str, Iterable[EntryId]],
    ) -> None:
        """Become what `export` returned; ValueError when it was made for other attributes.
        The tables are taken as they are (an unmarshalled image's own dicts, no copy)."""
        if (
            set(values) != set(self._values)
            or set(present) != set(self._present)
            or set(unreadable) != set(self._unreadable)
        ):
            raise ValueError("the index image covers other attributes than this index")
        self._pending.clear()
        self._values = {name: _as_table(table) for name, table in values.items()}
        self._present = {name: _as_set(ids) for name, ids in present.items()}
        self._unreadable = {name: _as_set(ids) for name, ids in unreadable.items()}

    def lookup(self, attr: str, value: bytes) -> frozenset[EntryId]:
        """Ids whose `attr` (a primary name) holds a value equal to `value` under its rule."""
        rule = self._rules.get(attr)
        if rule is None:
            raise KeyError(f"{attr} has no equality index")
        try:
            key = rule.normalize(value)
        except InvalidAttributeSyntax:
            return frozenset()
        elsewhere = self._elsewhere.get(attr)
        if elsewhere is not None:
            return frozenset(elsewhere(key))
        return frozenset(_ids(_get(self._table(attr), key)))

    def present(self, attr: str) -> frozenset[EntryId]:
        """Ids that have `attr` (a primary name)."""
        return frozenset(self._presence(attr))

    def distinct_values(self, attr: str) -> int:
        """How many normalized values `attr` holds across all entries (for sizing and tests)."""
        return len(self._table(attr) or ())

    def candidates(self, compiled: CompiledFilter) -> set[EntryId] | None:
        """A superset of the ids `compiled` can match, or None when only a scan can tell."""
        found = self._narrow(compiled.root)
        return None if found is None else set(found)

    # --- narrowing -------------------------------------------------------------------------

    def _narrow(self, node: Node) -> set[EntryId] | frozenset[EntryId] | None:
        """Never mutate what this returns: it may be one of the index's own sets."""
        match node:
            case ConstantNode(value):
                return None if value is True else _EMPTY  # False/Undefined never match
            case EqualityNode(names, rule, key):
                return self._narrow_keys(names, rule, (key,))
            case ClassNode(name, rule, keys):
                return self._narrow_keys((name,), rule, keys)
            case PresentNode(names):
                parts = [self._narrow_presence(name) for name in names]
                if any(part is None for part in parts):
                    return None
                return _union([part for part in parts if part is not None])
            case AndNode(children):
                return self._narrow_and(children)
            case OrNode(children):
                parts = [self._narrow(child) for child in children]
                if any(part is None for part in parts):
                    return None
                return _union([part for part in parts if part is not None])
        return None  # NOT, ordering, substrings, extensible: a scan decides

    def _narrow_keys(
        self, names: tuple[str, ...], rule: MatchingRule, keys: Iterable[Hashable]
    ) -> set[EntryId] | frozenset[EntryId] | None:
        """The ids holding any of `keys` in any of `names`. Every subtype the node reads must be
        indexed with the node's own rule (a supertype's rule may differ from a subtype's, and
        then the index keys would not compare)."""
        buckets: list[set[EntryId] | frozenset[EntryId]] = []
        for name in names:
            own = self._rules.get(name)
            if own is None or own.oid != rule.oid:
                return None
            elsewhere = self._elsewhere.get(name)
            for key in keys:
                if elsewhere is not None:
                    found = elsewhere(key)
                else:
                    found = _ids(_get(self._table(name), key))
                if found:
                    buckets.append(found)
        return _union(buckets)

    def _narrow_and(self, children: tuple[Node, ...]) -> set[EntryId] | frozenset[EntryId] | None:
        """The smallest narrowing intersected with the others. An objectClass item narrows only
        when nothing else does: its class family may be a union of buckets as large as the
        directory, while `(&(objectClass=person)(fax=...))` has one candidate to check."""
        classes = [child for child in children if isinstance(child, ClassNode)]
        others = [child for child in children if not isinstance(child, ClassNode)]
        parts = [part for part in map(self._narrow, others) if part is not None]
        if not parts:
            parts = [part for part in map(self._narrow, classes) if part is not None]
        if not parts:
            return None
        parts.sort(key=len)
        result = set(parts[0])
        for part in parts[1:]:
            if not result:
                break
            result &= part
        return result

    # --- maintenance -----------------------------------------------------------------------

    def _presence(self, name: str) -> set[EntryId] | frozenset[EntryId]:
        """The ids that have `name` (never mutate what this returns)."""
        present = self._present.get(name)
        if present is not None:
            return present
        table = self._table(name)
        if table is None:
            return _EMPTY
        return _union([*map(_ids, table.values()), self._unreadable[name]])

    def _narrow_presence(self, name: str) -> set[EntryId] | frozenset[EntryId] | None:
        """The ids that have `name`, or None when only a scan can tell cheaply."""
        if name not in self._present:
            table = self._table(name)
            if table is None or len(table) > PRESENCE_UNION_LIMIT:
                return None
        return self._presence(name)

    def _add(self, entry_id: EntryId, name: str, values: Sequence[bytes]) -> None:
        rule = self._rules[name]
        table = self._table(name)
        if rule is None or table is None:
            self._present[name].add(entry_id)
            return
        keys = _keys(rule, values)
        for key in keys:
            _put(table, key, entry_id)
        if len(keys) < len(values) and _any_unreadable(rule, values):
            self._unreadable[name].add(entry_id)

    def _remove(self, entry_id: EntryId, name: str, values: Sequence[bytes]) -> None:
        rule = self._rules[name]
        table = self._table(name)  # the deferred values added first
        if rule is None or table is None:
            self._present[name].discard(entry_id)
            return
        self._unreadable[name].discard(entry_id)
        for key in _keys(rule, values):
            bucket = table.get(key)
            if type(bucket) is set:
                bucket.discard(entry_id)
                if len(bucket) == 1:
                    table[key] = next(iter(bucket))  # back to one owner, stored bare
            elif bucket is not None and bucket == entry_id:
                del table[key]  # no empty buckets left behind by deletes


_EMPTY: frozenset[EntryId] = frozenset()


def _keys(rule: MatchingRule, values: Sequence[bytes]) -> set[Hashable]:
    """Normal forms of the values; one the rule cannot read is not indexed (it matches nothing)."""
    keys: set[Hashable] = set()
    for value in values:
        try:
            keys.add(rule.normalize(value))
        except InvalidAttributeSyntax:
            continue
    return keys


def _get(table: Table | None, key: Hashable) -> Bucket | None:
    return None if table is None else table.get(key)


def _ids(bucket: Bucket | None) -> set[EntryId] | frozenset[EntryId]:
    """The ids of a bucket; never mutate a set this returns (it is the table's own)."""
    if bucket is None:
        return _EMPTY
    if isinstance(bucket, set):
        return bucket
    return frozenset((bucket,))


def _put(table: Table, key: Hashable, entry_id: EntryId) -> None:
    bucket = table.get(key)
    if bucket is None:
        table[key] = entry_id
    elif isinstance(bucket, set):
        bucket.add(entry_id)
    elif bucket != entry_id:
        table[key] = {bucket, entry_id}


def _as_table(table: Mapping[Hashable, Bucket]) -> Table:
    """An image's table as it is (no copy of 400,000 buckets): images come only from this
    very code (the snapshot's fingerprint), so their buckets already have this form."""
    return table if type(table) is dict else dict(table)


def _as_set(ids: Iterable[EntryId]) -> set[EntryId]:
    """Sets from an unmarshalled image are taken as they are (no copy of 400,000 sets)."""
    return ids if type(ids) is set else set(ids)


def _any_unreadable(rule: MatchingRule, values: Sequence[bytes]) -> bool:
    return any(_normal_or_unreadable(rule, value) is _UNREADABLE for value in values)


def _normal_or_unreadable(rule: MatchingRule, value: bytes) -> Hashable:
    try:
        return rule.normalize(value)
    except InvalidAttributeSyntax:
        return _UNREADABLE


def _union(parts: Sequence[set[_T] | frozenset[_T]]) -> set[_T] | frozenset[_T]:
    if not parts:
        return frozenset()
    if len(parts) == 1:
        return parts[0]
    return set().union(*parts)
