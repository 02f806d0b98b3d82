"""Search filter evaluation (RFC 4511 §4.5.1.7): compile once per search, decide per entry.

Results are three-valued: True, False and None for Undefined. Everything that depends only on the
filter (resolving attribute descriptions, subtypes, matching rules, normalizing the assertion
values) happens once in `FilterCompiler.compile`; a node's `evaluate` only looks at the entry.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from ixidir.directory.catalog import SchemaCatalog
from ixidir.directory.filter import (
    And,
    Approx,
    Equality,
    Extensible,
    Filter,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
)
from ixidir.dn import DN
from ixidir.errors import InvalidAttributeSyntax, InvalidDNSyntax
from ixidir.schema import MatchingRule, Schema
from ixidir.schema.schema import ava_value_bytes

Attributes = Mapping[str, Sequence[bytes]]
# Attribute descriptions whose equality rule a FilterCompiler remembers.
MAX_REMEMBERED_TYPES = 1024
Truth = bool | None
"""True, False, or None for RFC 4511 Undefined."""
NormalizedCache = MutableMapping[tuple[str, tuple[bytes, ...]], frozenset[Hashable]]
"""(rule OID, stored values) → their normal forms; the caller owns its size and lifetime."""
EqualityType = tuple[tuple[str, ...], MatchingRule]
"""An attribute description resolved for equality: the type and its subtypes, and the rule."""


def normalized_values(
    rule: MatchingRule, values: Sequence[bytes], cache: NormalizedCache | None = None
) -> frozenset[Hashable]:
    """The normal forms of stored values under `rule`; values it cannot normalize are left out.

    Keyed by the rule, not the attribute type: a filter on a supertype (`name`) applies its own
    rule to the subtypes' values (RFC 4512 §2.5.1). With a cache, tuples of values are looked up by
    content, so a caller that keeps entry values as tuples normalizes each value list once.
    """
    if cache is None or not isinstance(values, tuple):
        return _normalize_all(rule, values)
    key = (rule.oid, values)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _normalize_all(rule, values)
    return found


def _normalize_all(rule: MatchingRule, values: Sequence[bytes]) -> frozenset[Hashable]:
    out: set[Hashable] = set()
    for value in values:
        try:
            out.add(rule.normalize(value))
        except InvalidAttributeSyntax:
            continue  # a stored value the rule cannot read matches nothing
    return frozenset(out)


class Node:
    """One compiled filter item; `evaluate` is the per-entry hot path."""

    __slots__ = ()

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, eq=False)
class ConstantNode(Node):
    """An item whose value does not depend on the entry (unknown attribute → Undefined, ...)."""

    value: Truth

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        return self.value


@dataclass(frozen=True, slots=True, eq=False)
class AndNode(Node):
    """RFC 4511: False if any child is False, else Undefined if any is Undefined, else True."""

    children: tuple[Node, ...]

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        result: Truth = True
        for child in self.children:
            value = child.evaluate(attributes, dn)
            if value is False:
                return False
            if value is None:
                result = None
        return result


@dataclass(frozen=True, slots=True, eq=False)
class OrNode(Node):
    """RFC 4511: True if any child is True, else Undefined if any is Undefined, else False."""

    children: tuple[Node, ...]

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        result: Truth = False
        for child in self.children:
            value = child.evaluate(attributes, dn)
            if value is True:
                return True
            if value is None:
                result = None
        return result


@dataclass(frozen=True, slots=True, eq=False)
class NotNode(Node):
    """RFC 4511: NOT Undefined is Undefined."""

    child: Node

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        value = self.child.evaluate(attributes, dn)
        return None if value is None else not value


@dataclass(frozen=True, slots=True, eq=False)
class PresentNode(Node):
    """True when the type or one of its subtypes has a value (RFC 4511 §4.5.1.7.5)."""

    names: tuple[str, ...]

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        return any(attributes.get(name) for name in self.names)


@dataclass(frozen=True, slots=True, eq=False)
class EqualityNode(Node):
    """Equality (and approx) on the type and its subtypes with the asserted type's rule."""

    names: tuple[str, ...]
    rule: MatchingRule
    key: Hashable
    raw: bytes  # the assertion as sent: a stored value with the same bytes matches at once
    cache: NormalizedCache | None

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        return holds_equal(self.names, self.rule, self.key, self.raw, self.cache, attributes)


def holds_equal(
    names: tuple[str, ...],
    rule: MatchingRule,
    key: Hashable,
    raw: bytes,
    cache: NormalizedCache | None,
    attributes: Attributes,
) -> bool:
    """Whether one of the attributes `names` holds a value equal to the assertion (`key` its
    normal form, `raw` as sent): EqualityNode's test, also called without building a node by
    the routing look-up, which tests one number per search (ops.lookup)."""
    for name in names:
        values = attributes.get(name)
        if not values:
            continue
        if raw in values:
            return True
        if cache is not None:
            if key in normalized_values(rule, values, cache):
                return True
            continue
        for value in values:
            try:
                if rule.normalize(value) == key:
                    return True
            except InvalidAttributeSyntax:
                continue
    return False


@dataclass(frozen=True, slots=True, eq=False)
class ClassNode(Node):
    """objectClass equality by the class hierarchy (RFC 4512 §2.4.1): the entry lists the class
    or one of its subclasses, whose OIDs are `keys` (expanded once, when the filter compiles)."""

    name: str  # objectClass, which has no subtypes
    rule: MatchingRule
    keys: frozenset[Hashable]
    spellings: frozenset[bytes]  # the classes' names and OIDs as bytes: matched without normalizing

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        values = attributes.get(self.name)
        if not values:
            return False
        if not self.spellings.isdisjoint(values):
            return True
        return not self.keys.isdisjoint(_normalize_all(self.rule, values))


@dataclass(frozen=True, slots=True, eq=False)
class OrderingNode(Node):
    """`>=` / `<=` with the ordering rule (RFC 4511 §4.5.1.7.3-4)."""

    names: tuple[str, ...]
    rule: MatchingRule
    key: Any
    greater: bool

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        for name in self.names:
            for value in attributes.get(name, ()):
                try:
                    normal: Any = self.rule.normalize(value)
                except InvalidAttributeSyntax:
                    continue
                if (normal >= self.key) if self.greater else (normal <= self.key):
                    return True
        return False


@dataclass(frozen=True, slots=True, eq=False)
class SubstringsNode(Node):
    """RFC 4511 §4.5.1.7.2 with the pieces prepared once (RFC 4518 §2.6.1 roles)."""

    names: tuple[str, ...]
    rule: MatchingRule
    initial: str | None
    any: tuple[str, ...]
    final: str | None

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        for name in self.names:
            for value in attributes.get(name, ()):
                try:
                    text = self.rule.normalize(value)
                except InvalidAttributeSyntax:
                    continue
                if isinstance(text, str) and self.matches_text(text):
                    return True
        return False

    def matches_text(self, text: str) -> bool:
        start, end = 0, len(text)
        if self.initial is not None:
            if not text.startswith(self.initial):
                return False
            start = len(self.initial)
        if self.final is not None:
            if not text.endswith(self.final) or end - len(self.final) < start:
                return False
            end -= len(self.final)
        for piece in self.any:
            found = text.find(piece, start, end)
            if found < 0:
                return False
            start = found + len(piece)
        return True


@dataclass(frozen=True, slots=True, eq=False)
class ExtensibleNode(Node):
    """RFC 4511 §4.5.1.7.7: a rule applied to attribute values and optionally to the DN's AVAs."""

    names: frozenset[str]  # primary names of the types the rule is applied to
    rule: MatchingRule
    key: Any
    dn_attributes: bool
    catalog: SchemaCatalog

    def matches(self, value: bytes) -> bool:
        try:
            normal: Any = self.rule.normalize(value)
        except InvalidAttributeSyntax:
            return False
        # RFC 4517 §4.1: an ordering rule used as a match is "attribute value less than assertion".
        return bool(normal < self.key) if self.rule.kind == "ordering" else normal == self.key

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        for name, values in attributes.items():
            if name in self.names and any(self.matches(value) for value in values):
                return True
        if self.dn_attributes:
            for rdn in dn.rdns:
                for ava in rdn.avas:
                    if self.catalog.primary_name(ava.attr) in self.names and self.matches_ava(
                        ava.value
                    ):
                        return True
        return False

    def matches_ava(self, text: str) -> bool:
        try:
            return self.matches(ava_value_bytes(text))
        except InvalidDNSyntax:
            return False


class CompiledFilter:
    """A filter bound to a schema; `matches` is what a search calls per candidate entry."""

    __slots__ = ("filter", "root", "uses_dn")

    def __init__(self, filter_: Filter, root: Node) -> None:
        self.filter = filter_
        self.root = root
        # Only extensible items with dnAttributes read the DN (RFC 4511 §4.5.1.7.7); other
        # filters may be given any DN, so a search need not parse each entry's.
        self.uses_dn = _uses_dn(root)

    def evaluate(self, attributes: Attributes, dn: DN) -> Truth:
        """The three-valued result, for callers that must tell False from Undefined."""
        return self.root.evaluate(attributes, dn)

    def matches(self, attributes: Attributes, dn: DN) -> bool:
        """True only when the filter is True for the entry (RFC 4511 §4.5.1.7)."""
        return self.root.evaluate(attributes, dn) is True


def _uses_dn(node: Node) -> bool:
    if isinstance(node, AndNode | OrNode):
        return any(_uses_dn(child) for child in node.children)
    if isinstance(node, NotNode):
        return _uses_dn(node.child)
    return isinstance(node, ExtensibleNode) and node.dn_attributes


def compile_filter(
    f: Filter, schema: Schema, *, cache: NormalizedCache | None = None
) -> CompiledFilter:
    """Compile with a throw-away catalog; a long-lived caller keeps one `FilterCompiler`."""
    return FilterCompiler(schema, cache=cache).compile(f)


class FilterCompiler:
    """Turns `Filter` values into nodes; holds what is worth computing once per schema."""

    def __init__(
        self,
        schema: Schema,
        *,
        cache: NormalizedCache | None = None,
        rules: Mapping[str, MatchingRule] | None = None,
    ) -> None:
        """`rules` replaces the equality rule of some attributes (primary names), as the
        directory does for routing attributes (ixidir.directory.numbers)."""
        self.catalog = SchemaCatalog(schema)
        self.cache = cache
        self._rules: Mapping[str, MatchingRule] = rules or {}
        # attribute description -> (subtypes, equality rule), or None when the item is
        # Undefined: resolved once, since clients repeat the same few descriptions.
        self._equality: dict[str, EqualityType | None] = {}

    @property
    def rules(self) -> Mapping[str, MatchingRule]:
        return self._rules

    @rules.setter
    def rules(self, rules: Mapping[str, MatchingRule]) -> None:
        self._rules = rules
        self._equality.clear()

    def compile(self, f: Filter) -> CompiledFilter:
        return CompiledFilter(f, self.node(f))

    def node(self, f: Filter) -> Node:
        match f:
            case And(filters):
                return _fold_and(tuple(self.node(child) for child in filters))
            case Or(filters):
                return _fold_or(tuple(self.node(child) for child in filters))
            case Not(inner):
                child = self.node(inner)
                if isinstance(child, ConstantNode):
                    return _constant(None if child.value is None else not child.value)
                return NotNode(child)
            case Present(attr):
                return self.present(attr)
            case Equality(attr, value) | Approx(attr, value):
                # Approx is equality: RFC 4511 leaves approximate matching to the server, we have
                # no phonetic rule, and equality is what OpenLDAP falls back to without one.
                return self.equality(attr, value)
            case GreaterOrEqual(attr, value):
                return self.ordering(attr, value, greater=True)
            case LessOrEqual(attr, value):
                return self.ordering(attr, value, greater=False)
            case Substrings():
                return self.substrings(f)
            case Extensible():
                return self.extensible(f)

    def present(self, attr: str) -> Node:
        attr_type = self.catalog.resolve(attr)
        if attr_type is None:
            return _UNDEFINED
        if attr_type.name.lower() == "objectclass":
            return _TRUE  # every entry has an object class (RFC 4512 §2.4.1)
        return PresentNode(self.catalog.subtypes(attr_type))

    def equality(self, attr: str, value: bytes) -> Node:
        resolved = self.equality_type(attr)
        if resolved is None:
            return _UNDEFINED
        names, rule = resolved
        key = normalize_assertion(rule, value)
        if key is None:
            return _UNDEFINED
        if names == _OBJECT_CLASS and isinstance(key, str):
            family = self.catalog.class_family(key)
            if family is not None:
                return self._class(key, family, rule)
        return EqualityNode(names, rule, key, value, self.cache)

    def _class(self, oid: str, family: frozenset[str], rule: MatchingRule) -> Node:
        if family == self.catalog.every_class:
            return _TRUE  # (objectClass=top): every entry (RFC 4512 §2.4.1), as presence
        spellings = self.catalog.class_spellings(oid)
        return ClassNode(_OBJECT_CLASS[0], rule, family, spellings)

    def equality_type(self, attr: str) -> EqualityType | None:
        """The attribute description's subtypes and equality rule; None when a filter item
        on it is Undefined (the routing look-up resolves the connector's attribute once)."""
        try:
            return self._equality[attr]
        except KeyError:
            return self._equality_type(attr)

    def _equality_type(self, attr: str) -> EqualityType | None:
        attr_type = self.catalog.resolve(attr)
        rule = None if attr_type is None else self._rules.get(attr_type.name, attr_type.equality)
        resolved = (
            None if attr_type is None or rule is None else (self.catalog.subtypes(attr_type), rule)
        )
        if len(self._equality) >= MAX_REMEMBERED_TYPES:
            self._equality.clear()  # a client sending ever new descriptions
        self._equality[attr] = resolved
        return resolved

    def ordering(self, attr: str, value: bytes, *, greater: bool) -> Node:
        attr_type = self.catalog.resolve(attr)
        if attr_type is None or attr_type.ordering is None:
            return _UNDEFINED
        key = normalize_assertion(attr_type.ordering, value)
        if key is None:
            return _UNDEFINED
        names = self.catalog.subtypes(attr_type)
        return OrderingNode(names, attr_type.ordering, key, greater)

    def substrings(self, f: Substrings) -> Node:
        attr_type = self.catalog.resolve(f.attr)
        if attr_type is None or attr_type.substr is None:
            return _UNDEFINED
        rule = attr_type.substr
        try:
            pieces = (
                None if f.initial is None else _piece(rule, f.initial, "initial"),
                tuple(_piece(rule, piece, "any") for piece in f.any),
                None if f.final is None else _piece(rule, f.final, "final"),
            )
        except InvalidAttributeSyntax:
            return _UNDEFINED
        return SubstringsNode(self.catalog.subtypes(attr_type), rule, *pieces)

    def extensible(self, f: Extensible) -> Node:
        rule: MatchingRule | None
        if f.rule is None:
            attr_type = self.catalog.resolve(f.attr) if f.attr is not None else None
            rule = attr_type.equality if attr_type is not None else None
        else:
            rule = self.catalog.rule(f.rule)
        if rule is None or rule.kind == "substr":
            return _UNDEFINED  # substrings rules need a SubstringAssertion value: not supported
        if f.attr is None:
            names = self.catalog.types_using(rule)
        else:
            attr_type = self.catalog.resolve(f.attr)
            if attr_type is None or not self.catalog.is_suitable(rule, attr_type):
                return _UNDEFINED
            names = frozenset(self.catalog.subtypes(attr_type))
        key = normalize_assertion(rule, f.value)
        if key is None:
            return _UNDEFINED
        return ExtensibleNode(names, rule, key, f.dn_attributes, self.catalog)


_OBJECT_CLASS = ("objectClass",)
_TRUE = ConstantNode(True)
_FALSE = ConstantNode(False)
_UNDEFINED = ConstantNode(None)


def _constant(value: Truth) -> ConstantNode:
    return _UNDEFINED if value is None else _TRUE if value else _FALSE


def normalize_assertion(rule: MatchingRule, value: bytes) -> Any:
    """The assertion's normal form, or None when it is invalid (the item is then Undefined)."""
    try:
        return rule.normalize(value)
    except InvalidAttributeSyntax:
        return None


def _piece(rule: MatchingRule, value: bytes, role: str) -> str:
    if rule.prepare_piece is not None:
        try:
            return rule.prepare_piece(value, role)
        except (ValueError, UnicodeError):
            raise InvalidAttributeSyntax(f"{rule.name}: invalid substring") from None
    prepared = rule.normalize(value)
    if not isinstance(prepared, str):
        raise InvalidAttributeSyntax(f"{rule.name} cannot match substrings")
    return prepared


def _fold_and(children: tuple[Node, ...]) -> Node:
    """Drop True children and stop at a constant False; keeps the tree the index walks small."""
    kept = [child for child in children if child is not _TRUE]
    if _FALSE in kept:
        return _FALSE
    if not kept:
        return _TRUE
    return kept[0] if len(kept) == 1 else AndNode(tuple(kept))


def _fold_or(children: tuple[Node, ...]) -> Node:
    kept = [child for child in children if child is not _FALSE]
    if _TRUE in kept:
        return _TRUE
    if not kept:
        return _FALSE
    return kept[0] if len(kept) == 1 else OrNode(tuple(kept))
