"""A deliberately simple filter evaluator straight from RFC 4511 §4.5.1.7, plus random entries and
filters to hold the real evaluator and the index against it.

Nothing is compiled or cached: every item resolves its attribute, finds subtypes by walking each
entry attribute's SUP chain, and applies the schema's matching rules value by value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

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
from ixidir.errors import InvalidAttributeSyntax
from ixidir.schema import AttributeType, MatchingRule, Schema

Entry = Mapping[str, Sequence[bytes]]
Truth = bool | None


def naive_evaluate(f: Filter, schema: Schema, entry: Entry, dn: DN) -> Truth:
    """True, False or None (Undefined) for one entry."""
    match f:
        case And(filters):
            results = [naive_evaluate(child, schema, entry, dn) for child in filters]
            if False in results:
                return False
            return None if None in results else True
        case Or(filters):
            results = [naive_evaluate(child, schema, entry, dn) for child in filters]
            if True in results:
                return True
            return None if None in results else False
        case Not(inner):
            result = naive_evaluate(inner, schema, entry, dn)
            return None if result is None else not result
        case Extensible():
            return _extensible(f, schema, entry, dn)
        case _:
            return _item(f, schema, entry)


def _item(f: Filter, schema: Schema, entry: Entry) -> Truth:
    attr_type = _resolve(schema, getattr(f, "attr", None))
    if attr_type is None:
        return None
    values = _values_of(schema, entry, attr_type)
    match f:
        case Present():
            return attr_type.name == "objectClass" or bool(values)
        case Equality(_, value) | Approx(_, value) if attr_type.name == "objectClass":
            return _is_of_class(schema, value, values)
        case Equality(_, value) | Approx(_, value):
            return _compare(attr_type.equality, value, values, lambda s, a: s == a)
        case GreaterOrEqual(_, value):
            return _compare(attr_type.ordering, value, values, lambda s, a: s >= a)
        case LessOrEqual(_, value):
            return _compare(attr_type.ordering, value, values, lambda s, a: s <= a)
        case Substrings(_, initial, any_, final):
            return _substrings(attr_type.substr, (initial, any_, final), values)
    raise TypeError(f"not a filter item: {f!r}")


def _is_of_class(schema: Schema, asserted: bytes, values: list[bytes]) -> Truth:
    """RFC 4512 §2.4.1: an entry belongs to every superclass of the classes it lists, and every
    entry to `top`, stored or not."""
    try:
        named = schema.find_object_class(asserted.decode("ascii"))
    except UnicodeDecodeError:
        named = None
    if named is None:
        return _compare(schema.attribute("objectClass").equality, asserted, values, _equal)
    if named.name == "top":
        return True
    for value in values:
        listed = schema.find_object_class(value.decode("ascii", "replace"))
        if listed is not None and named.name in listed.superclasses:
            return True
    return False


def _equal(stored: Any, asserted: Any) -> bool:
    return bool(stored == asserted)


def _resolve(schema: Schema, description: str | None) -> AttributeType | None:
    if description is None or ";" in description:
        return None  # options: we store no tagged values, so the description is unrecognized
    return schema.find_attribute(description)


def _is_same_or_subtype(schema: Schema, candidate: AttributeType, ancestor: AttributeType) -> bool:
    current: AttributeType | None = candidate
    while current is not None:
        if current.oid == ancestor.oid:
            return True
        current = schema.find_attribute(current.sup) if current.sup else None
    return False


def _values_of(schema: Schema, entry: Entry, attr_type: AttributeType) -> list[bytes]:
    values: list[bytes] = []
    for name, stored in entry.items():
        if _is_same_or_subtype(schema, schema.attribute(name), attr_type):
            values.extend(stored)
    return values


def _normal(rule: MatchingRule, value: bytes) -> Any:
    try:
        return rule.normalize(value)
    except InvalidAttributeSyntax:
        return _INVALID


_INVALID = object()


def _compare(rule: MatchingRule | None, asserted: bytes, values: list[bytes], test: Any) -> Truth:
    if rule is None:
        return None
    key = _normal(rule, asserted)
    if key is _INVALID:
        return None
    return any(test(s, key) for s in (_normal(rule, v) for v in values) if s is not _INVALID)


def _substrings(
    rule: MatchingRule | None,
    pieces: tuple[bytes | None, tuple[bytes, ...], bytes | None],
    values: list[bytes],
) -> Truth:
    if rule is None:
        return None
    initial, any_, final = pieces
    try:  # the assertion must be valid on its own: try it against an empty string first
        _check_pieces(rule, initial, any_, final)
    except InvalidAttributeSyntax:
        return None
    for value in values:
        if _normal(rule, value) is _INVALID:
            continue
        if rule.match_substrings(value, initial, any_, final):
            return True
    return False


def _check_pieces(
    rule: MatchingRule, initial: bytes | None, any_: tuple[bytes, ...], final: bytes | None
) -> None:
    for role, piece in [("initial", initial), *(("any", p) for p in any_), ("final", final)]:
        if piece is None:
            continue
        if rule.prepare_piece is None:
            rule.normalize(piece)
            continue
        try:
            rule.prepare_piece(piece, role)
        except (ValueError, UnicodeError):
            raise InvalidAttributeSyntax("bad piece") from None


def _suits(rule: MatchingRule, attr_type: AttributeType) -> bool:
    own = (attr_type.equality, attr_type.ordering, attr_type.substr)
    return rule in own or rule.syntax == attr_type.syntax.oid


def _extensible(f: Extensible, schema: Schema, entry: Entry, dn: DN) -> Truth:
    attr_type = _resolve(schema, f.attr) if f.attr is not None else None
    if f.attr is not None and attr_type is None:
        return None
    if f.rule is not None:
        rule = schema.find_matching_rule(f.rule)
    else:
        rule = attr_type.equality if attr_type is not None else None
    if rule is None or rule.kind == "substr":
        return None
    if attr_type is not None and not _suits(rule, attr_type):
        return None
    key = _normal(rule, f.value)
    if key is _INVALID:
        return None

    def applies(name: str) -> bool:
        found = schema.find_attribute(name)
        if found is None:
            return False
        if attr_type is not None:
            return _is_same_or_subtype(schema, found, attr_type)
        return _suits(rule, found)

    def hit(value: bytes) -> bool:
        normal = _normal(rule, value)
        if normal is _INVALID:
            return False
        return bool(normal < key) if rule.kind == "ordering" else bool(normal == key)

    pairs = [(name, value) for name, values in entry.items() for value in values]
    if f.dn_attributes:
        pairs += [(ava.attr, ava.value.encode()) for rdn in dn.rdns for ava in rdn.avas]
    return any(applies(name) and hit(value) for name, value in pairs)


# --- random entries and filters ----------------------------------------------------------------

# Attributes whose rules differ: caseIgnore (cn, sn, ou, uid), caseIgnoreIA5 (mail),
# telephoneNumberMatch (telephoneNumber, facsimileTelephoneNumber), integer with ordering
# (ixiFaxMaxPages), boolean (ixiVmEnabled), objectIdentifier (objectClass), caseExact
# (ixiVmMailboxFolder). cn and sn are subtypes of name, which the filters also use.
VALUE_POOLS: dict[str, list[bytes]] = {
    "cn": [b"Alice Smith", b"alice  smith", b"ALICE", b"Bob", b" Bob ", "Jürgen".encode()],
    "sn": [b"Smith", b"smith", b"Jones", b"Bob"],
    "ou": [b"people", b"Staff", b"sales"],
    "uid": [b"alice", b"Alice", b"bob", b"jurgen"],
    "mail": [b"alice@example.com", b"Alice@Example.COM", b"bob@example.com", b"x@example.com"],
    "telephoneNumber": [b"+49 8142 4799100", b"+49-8142-4799100", b"0815", b"+1 555 0100"],
    "facsimileTelephoneNumber": [b"+49 8142 4799123", b"+4981424799123", b"+49 30 1234"],
    "ixiFaxMaxPages": [b"1", b"5", b"10", b"-3", b"100", b"007", b"x1"],
    "ixiVmEnabled": [b"TRUE", b"FALSE"],
    "ixiVmMailboxFolder": [b"Inbox/Voice", b"inbox/voice", b"Voice"],
}
OBJECT_CLASSES = [b"top", b"person", b"organizationalPerson", b"inetOrgPerson", b"ixiUmsUser"]
FILTER_ATTRS = [
    *VALUE_POOLS,
    "objectClass",
    "name",
    "noSuchAttribute",
    "cn;lang-de",
    "CN",
    "2.5.4.4",
]
ASSERTION_EXTRAS = [b"", b"\xff", b"abc", b"smi", b"+49", b"4799", b"inetOrgPerson", b"PERSON"]
RULES = [
    "caseExactMatch",
    "caseIgnoreMatch",
    "2.5.13.2",
    "integerMatch",
    "integerOrderingMatch",
    "telephoneNumberMatch",
    "caseIgnoreSubstringsMatch",
    "noSuchRule",
]


@st.composite
def entries(draw: st.DrawFn) -> dict[str, tuple[bytes, ...]]:
    """An inetOrgPerson-like entry; values may repeat or be invalid for their syntax (x1)."""
    entry: dict[str, tuple[bytes, ...]] = {
        "objectClass": tuple(
            draw(st.lists(st.sampled_from(OBJECT_CLASSES), min_size=1, max_size=3))
        )
    }
    for name in draw(st.lists(st.sampled_from(sorted(VALUE_POOLS)), max_size=6, unique=True)):
        pool = VALUE_POOLS[name]
        entry[name] = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2)))
    return entry


@st.composite
def dns(draw: st.DrawFn) -> DN:
    uid = draw(st.sampled_from(["alice", "bob", "people"])).encode().decode()
    ou = draw(st.sampled_from(["people", "Staff", "sales"]))
    return DN.parse(f"uid={uid},ou={ou},dc=example,dc=com")


_values = st.sampled_from(
    sorted({value for pool in VALUE_POOLS.values() for value in pool} | set(ASSERTION_EXTRAS))
)
_pieces = st.sampled_from([b"smi", b"ALI", b"th", b"b", b"4799", b"+49", b"1", b"e", b"\xff"])
_attrs = st.sampled_from(FILTER_ATTRS)

_leaves: st.SearchStrategy[Filter] = st.one_of(
    st.builds(Equality, _attrs, _values),
    st.builds(Approx, _attrs, _values),
    st.builds(GreaterOrEqual, _attrs, _values),
    st.builds(LessOrEqual, _attrs, _values),
    st.builds(Present, _attrs),
    st.builds(
        Substrings,
        _attrs,
        st.none() | _pieces,
        st.lists(_pieces, max_size=2).map(tuple),
        st.none() | _pieces,
    ),
    st.builds(
        Extensible,
        st.none() | st.sampled_from(RULES),
        st.none() | _attrs,
        _values,
        st.booleans(),
    ).filter(lambda e: e.rule is not None or e.attr is not None),
)


def _branches(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    lists = st.lists(children, max_size=3).map(tuple)
    return st.builds(And, lists) | st.builds(Or, lists) | st.builds(Not, children)


filters = st.recursive(_leaves, _branches, max_leaves=8)
