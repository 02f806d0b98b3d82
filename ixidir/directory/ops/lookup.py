"""The routing look-up: a search by telephone number answered from the indexes alone.

The Messaging Connector asks `(facsimileTelephoneNumber=+49 8142 4799123)` (its filter text is
configurable, so also wrapped, e.g. `(&(objectClass=...)(facsimileTelephoneNumber=...))`) and
reads a few attributes. `lookup` answers such a search with one canonicalization and dictionary
look-ups, and returns None for anything else, or for any case it cannot settle exactly as
`ops.search.search` would (errors, more than one entry, operational attributes asked for);
the caller then runs the general search. A property test pins both to the same bytes.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from ixidir.directory.acl import EntryView
from ixidir.directory.dit import Entry
from ixidir.directory.evaluate import AndNode, ConstantNode, EqualityNode, Node
from ixidir.directory.filter import And, Equality, Filter
from ixidir.directory.ops.search import Plan, in_scope, prepared
from ixidir.directory.ops.selection import Selected, select
from ixidir.directory.requests import Principal, Scope, SearchRequest
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN
from ixidir.errors import LDAPError

_ANY_DN = DN()
_NOTHING: tuple[Entry, ...] = ()


class Found(NamedTuple):
    """What a routing search returns: at most one entry, and how to present it.

    `form` names the presentation (attribute list, secrets hidden or not, typesOnly): two
    searches with the same form return the same attributes of an entry, so a caller may keep
    an entry's encoded answer in `Entry.memo` under it. (A NamedTuple: made once a search.)
    """

    entries: tuple[Entry, ...]
    form: Hashable
    plan: Plan
    types_only: bool


def lookup(state: DirectoryState, principal: Principal, request: SearchRequest) -> Found | None:
    """The entries `request` returns, when it is a routing search this can settle; else None."""
    if request.scope is Scope.BASE or not _is_number_filter(request.filter):
        return None
    try:
        plan = prepared(state, principal, request)
    except LDAPError:
        return None  # the general search raises the same error and answers it
    if plan is None or plan.selection.all_operational:
        return None
    if not plan.selection.names.isdisjoint(state.operational):
        return None  # computed values (counters, hasSubordinates) change without a write
    node = state.compiler.node(request.filter)
    ids = _candidates(state, node)
    if ids is None:
        return None
    entries = _matches(state, plan, request.scope, node, ids)
    if entries is None or (plan.limit and len(entries) > plan.limit):
        return None
    form = (request.attributes, plan.reader.hidden, request.types_only)
    return Found(entries, form, plan, request.types_only)


def present(state: DirectoryState, found: Found, entry: Entry) -> Selected:
    """The attributes `entry` returns for `found`'s search (as ops.search selects them)."""
    view = EntryView(entry, state.dit, found.plan.reader.hidden, state.computed)
    return select(
        view, found.plan.selection, operational=state.operational, types_only=found.types_only
    )


def _is_number_filter(f: Filter) -> bool:
    """An equality, or an AND of equalities (the connector's configurable wrapping)."""
    if isinstance(f, Equality):
        return True
    return (
        isinstance(f, And)
        and 0 < len(f.filters) <= 4
        and all(isinstance(child, Equality) for child in f.filters)
    )


def _candidates(state: DirectoryState, node: Node) -> frozenset[str] | set[str] | None:
    """The entries the routing index names for the node's telephone number, or None when no
    routing attribute narrows it (then this is not a routing search)."""
    if isinstance(node, ConstantNode):
        return frozenset() if node.value is not True else None
    equalities = node.children if isinstance(node, AndNode) else (node,)
    routing = state.routing
    for child in equalities:
        if (
            isinstance(child, EqualityNode)
            and child.rule is routing.rule
            and all(name in routing.attributes for name in child.names)
        ):
            return routing.candidates(child.key)
    return None


def _matches(
    state: DirectoryState, plan: Plan, scope: Scope, node: Node, ids: frozenset[str] | set[str]
) -> tuple[Entry, ...] | None:
    """The candidates in scope that the principal sees and the filter matches; None when more
    than one does (the general search decides their order and limits)."""
    if not ids:
        return _NOTHING
    found: Entry | None = None
    dit, reader, computed = state.dit, plan.reader, state.computed
    for uuid in ids:
        entry = dit.by_uuid(uuid)
        if entry is None or not in_scope(state, entry, plan.base_key, scope):
            continue
        view = reader.view(entry, dit, computed)
        if view is None or node.evaluate(view, _ANY_DN) is not True:
            continue
        if found is not None:
            return None
        found = entry
    return _NOTHING if found is None else (found,)
