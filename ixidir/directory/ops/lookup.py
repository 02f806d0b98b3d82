"""The routing look-up: a search by telephone number answered from the indexes alone.

The Messaging Connector asks `(facsimileTelephoneNumber=+49 8142 4799123)` (its filter text is
configurable, so also wrapped, e.g. `(&(objectClass=...)(facsimileTelephoneNumber=...))`) and
reads a few attributes, with a new number each time. `shape_of` settles, once per shape, all
but the number; `find` then answers each number with one canonicalization and dictionary
look-ups. Both return None for anything else, or for any case they cannot settle exactly as
`ops.search.search` would (errors, more than one entry, operational attributes asked for);
the caller then runs the general search. A property test pins both to the same bytes.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple, cast

from ixidir.directory.acl import EntryView
from ixidir.directory.dit import Entry
from ixidir.directory.evaluate import (
    ConstantNode,
    EqualityType,
    Node,
    holds_equal,
    normalize_assertion,
)
from ixidir.directory.filter import And, Equality, Filter
from ixidir.directory.ops.search import Plan, in_scope, prepared
from ixidir.directory.ops.selection import Selected, select
from ixidir.directory.requests import Principal, Scope, SearchRequest
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN
from ixidir.errors import LDAPError

_ANY_DN = DN()
_NOTHING: tuple[Entry, ...] = ()
MAX_WRAPPED = 4  # equalities an AND around the number may have


class Shape(NamedTuple):
    """A routing search without its number: what every search of this shape shares.

    The connector sends one search shape (base, scope, attribute list, the filter around the
    number) again and again with a new number; everything here is settled once per shape and
    directory generation, so a search costs the number's canonicalization and dictionary
    look-ups. `form` names the presentation (attribute list, secrets hidden or not, typesOnly):
    two searches with the same form return the same attributes of an entry, so a caller may
    keep an entry's encoded answer in `Entry.memo` under it.
    """

    number: EqualityType  # the equality on a routing attribute: its attribute and rule
    others: tuple[Node, ...]  # the filter's other equalities (an AND), compiled once
    plan: Plan
    scope: Scope
    form: Hashable
    types_only: bool


def shape_of(state: DirectoryState, principal: Principal, request: SearchRequest) -> Shape | None:
    """The shape of a routing search `find` can settle, or None for anything else (the general
    search answers those). Depends on everything but the number's value."""
    if request.scope is Scope.BASE:
        return None
    number = _number_of(state, request.filter)
    if number is None:
        return None
    position, resolved = number
    try:
        plan = prepared(state, principal, request)
    except LDAPError:
        return None  # the general search raises the same error and answers it
    if plan is None or plan.selection.all_operational:
        return None
    if not plan.selection.names.isdisjoint(state.operational):
        return None  # computed values (counters, hasSubordinates) change without a write
    others = []
    for index, other in enumerate(_equalities(request.filter)):
        if index == position:
            continue
        node = state.compiler.node(other)
        if isinstance(node, ConstantNode):
            if node.value is not True:
                return None  # nothing matches: rare, left to the general search
            continue
        others.append(node)
    # Strings and flags only: an entry's memo (form, answer) is then an object the garbage
    # collector stops tracking after one pass (a frozenset in it kept 20,000 of them tracked).
    form = (request.attributes, tuple(sorted(plan.reader.hidden)), request.types_only)
    return Shape(resolved, tuple(others), plan, request.scope, form, request.types_only)


def number_attribute(state: DirectoryState, attr: str) -> bool:
    """Whether an equality on the attribute description `attr` is a routing look-up: its
    rule is the canonical number rule and every subtype is a routing attribute."""
    return _number_type(state, attr) is not None


def _number_type(state: DirectoryState, attr: str) -> EqualityType | None:
    resolved = state.compiler.equality_type(attr)
    if resolved is None:
        return None
    names, rule = resolved
    routing = state.routing
    if rule is routing.rule and all(name in routing.attributes for name in names):
        return resolved
    return None


def find(state: DirectoryState, shape: Shape, value: bytes) -> tuple[Entry, ...] | None:
    """The entries a search of `shape` for the number `value` returns; None when the general
    search must decide (more than one entry, a value with no normal form)."""
    key = normalize_assertion(shape.number[1], value)
    if key is None:
        return None  # the item is Undefined: the filter compiler's constant folding decides
    entries = _matches(state, shape, key, value, state.routing.candidates(key))
    if entries is None or (shape.plan.limit and len(entries) > shape.plan.limit):
        return None
    return entries


def present(state: DirectoryState, shape: Shape, entry: Entry) -> Selected:
    """The attributes `entry` returns for a search of `shape` (as ops.search selects them)."""
    plan = shape.plan
    view = EntryView(entry, state.dit, plan.reader.hidden, state.computed)
    return select(view, plan.selection, operational=state.operational, types_only=shape.types_only)


def _equalities(f: Filter) -> tuple[Equality, ...]:
    return (f,) if isinstance(f, Equality) else cast(tuple[Equality, ...], cast(And, f).filters)


def _number_of(state: DirectoryState, f: Filter) -> tuple[int, EqualityType] | None:
    """Which equality of the filter (an equality, or an AND of a few: the connector's
    configurable wrapping) holds the number, the first on a routing attribute, resolved."""
    if isinstance(f, And):
        if not 0 < len(f.filters) <= MAX_WRAPPED:
            return None
        if not all(isinstance(child, Equality) for child in f.filters):
            return None
    elif not isinstance(f, Equality):
        return None
    for position, child in enumerate(_equalities(f)):
        resolved = _number_type(state, child.attr)
        if resolved is not None:
            return position, resolved
    return None


def _matches(
    state: DirectoryState, shape: Shape, key: Hashable, raw: bytes, ids: frozenset[str] | set[str]
) -> tuple[Entry, ...] | None:
    """The candidates in scope that the principal sees and the filter matches; None when more
    than one does (the general search decides their order and limits)."""
    if not ids:
        return _NOTHING
    found: Entry | None = None
    dit, reader, computed, cache = (
        state.dit,
        shape.plan.reader,
        state.computed,
        state.compiler.cache,
    )
    base_key, scope, others = shape.plan.base_key, shape.scope, shape.others
    names, rule = shape.number
    for uuid in ids:
        entry = dit.by_uuid(uuid)
        if entry is None or not in_scope(state, entry, base_key, scope):
            continue
        view = reader.view(entry, dit, computed)
        if view is None or not holds_equal(names, rule, key, raw, cache, view):
            continue
        if others and not all(node.evaluate(view, _ANY_DN) is True for node in others):
            continue
        if found is not None:
            return None
        found = entry
    return _NOTHING if found is None else (found,)
