"""Search (RFC 4511 §4.5): scope, index-narrowed candidates, ACL view, filter, limits, selection.

Results are yielded lazily. The filter sees only what the principal may read (an unreadable
attribute is absent, so `(userPassword=*)` is False for a service account). sizeLimit: after
the limit's entries the next match raises SizeLimitExceeded (the server then sends the done
with code 4); timeLimit is checked between entries through the injected `now`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ixidir.directory.acl import Reader
from ixidir.directory.dit import Entry
from ixidir.directory.evaluate import CompiledFilter
from ixidir.directory.ops.rootdse import root_dse, subschema_entry
from ixidir.directory.ops.selection import Selection, parse_selection, select
from ixidir.directory.requests import (
    AccessClass,
    Principal,
    Scope,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN
from ixidir.errors import NoSuchObject, SizeLimitExceeded, TimeLimitExceeded

Clock = Callable[[], float]
_ANY_DN = DN()  # given to filters that do not read the DN


@dataclass(frozen=True, slots=True)
class Plan:
    """What a search needs that depends on neither its filter nor the time: valid while the
    directory's layout is unchanged (an add, delete or rename may create or remove the base);
    kept in `DirectoryState.search_plans`."""

    base: DN
    base_key: str
    selection: Selection
    reader: Reader
    limit: int
    time_limit: int


def search(
    state: DirectoryState,
    principal: Principal,
    request: SearchRequest,
    *,
    now: Clock | None = None,
) -> Iterator[SearchResultEntry]:
    """Validate the base eagerly (errors raise at the call), then return the lazy results."""
    plan = prepared(state, principal, request)
    compiled = state.compiler.compile(request.filter)
    if plan is None:
        base, base_key = state.parse_dn(request.base)
        selection = parse_selection(state.compiler.catalog, request.attributes)
        special = root_dse(state, principal) if not base_key else subschema_entry(state)
        return _special(state, base, special, compiled, selection, request)
    entries = _candidates(state, plan.base_key, request.scope, compiled)
    deadline = _deadline(plan.time_limit, now)
    return _results(state, plan, entries, compiled, request, deadline)


def prepared(state: DirectoryState, principal: Principal, request: SearchRequest) -> Plan | None:
    """The search's plan (remembered per layout), or None for the root DSE and subschema
    entry, which are built per request; NoSuchObject and InvalidDNSyntax raise here."""
    plans = state.search_plans
    # int(scope): an IntEnum's own hash is Python code.
    key = (
        principal,
        request.base,
        int(request.scope),
        request.attributes,
        request.size_limit,
        request.time_limit,
    )
    plan = plans.get(state.layout, key)
    if plan is None:
        base, base_key = state.parse_dn(request.base)
        if request.scope is Scope.BASE and base_key in ("", state.subschema_key):
            return None
        selection = parse_selection(state.compiler.catalog, request.attributes)
        plan = _plan(state, principal, request, base, base_key, selection)
        plans.put(key, plan)
    return plan


def _plan(
    state: DirectoryState,
    principal: Principal,
    request: SearchRequest,
    base: DN,
    base_key: str,
    selection: Selection,
) -> Plan:
    """Check the base (noSuchObject, RFC 4511 §4.5.1.1) and prepare the reader and limits."""
    reader = state.reader(principal)
    if base_key:
        base_entry = state.dit.get(base_key)
        if base_entry is None or reader.reads_nothing:
            matched = state.dit.deepest_existing(base, state.key_of)
            raise NoSuchObject(
                f"no such object: {request.base}", matched_dn=matched if reader.sees_all else ""
            )
    limit = _size_limit(state, principal, request)
    return Plan(base, base_key, selection, reader, limit, _time_limit(state, principal, request))


def _special(
    state: DirectoryState,
    base: DN,
    attributes: dict[str, tuple[bytes, ...]],
    compiled: CompiledFilter,
    selection: Selection,
    request: SearchRequest,
) -> Iterator[SearchResultEntry]:
    if compiled.matches(attributes, base):
        chosen = select(
            attributes, selection, operational=state.operational, types_only=request.types_only
        )
        yield SearchResultEntry(str(base), chosen)


def _candidates(
    state: DirectoryState, base_key: str, scope: Scope, compiled: CompiledFilter
) -> Iterable[Entry]:
    """The entries in scope, narrowed by the equality index when the filter allows it.

    A search based at "" (the root DSE) with a non-base scope covers the whole DIT.
    """
    if scope is Scope.BASE:
        entry = state.dit.get(base_key)
        return () if entry is None else (entry,)
    ids = state.index.candidates(compiled)
    if ids is None:
        if not base_key:
            return state.dit.entries()
        if scope is Scope.ONE:
            return state.dit.children(base_key)
        return state.dit.subtree(base_key, include_base=scope is Scope.SUB)
    found = (state.dit.by_uuid(str(uuid)) for uuid in ids)
    return [
        entry for entry in found if entry is not None and in_scope(state, entry, base_key, scope)
    ]


def in_scope(state: DirectoryState, entry: Entry, base_key: str, scope: Scope) -> bool:
    if not base_key:
        return True
    if scope is Scope.ONE:
        return entry.parent_key == base_key
    if entry.dn_key == base_key:
        return scope is Scope.SUB
    return entry.parent_key == base_key or state.dit.is_within(entry, base_key)


def _size_limit(state: DirectoryState, principal: Principal, request: SearchRequest) -> int:
    """The smaller of the client's and the server's limit; the admin and the service accounts
    (the connector reads every user) have no server limit, as slapd's rootdn and `limits`."""
    exempt = principal.access in (AccessClass.ADMIN, AccessClass.SERVICE)
    return _smaller(request.size_limit, 0 if exempt else state.settings.size_limit)


def _time_limit(state: DirectoryState, principal: Principal, request: SearchRequest) -> int:
    """The smaller of the client's and the server's time limit (RFC 4511 §4.5.1.5); only the
    administrator has no server limit, as slapd's rootdn."""
    return _smaller(request.time_limit, 0 if principal.is_admin else state.settings.time_limit)


def _smaller(requested: int, server: int) -> int:
    """The smaller positive limit; 0 when neither is set."""
    limits = [limit for limit in (requested, server) if limit > 0]
    return min(limits) if limits else 0


def _deadline(time_limit: int, now: Clock | None) -> Callable[[], bool]:
    if time_limit <= 0 or now is None:
        return lambda: False
    clock = now
    end = clock() + time_limit
    return lambda: clock() > end


def _results(
    state: DirectoryState,
    plan: Plan,
    entries: Iterable[Entry],
    compiled: CompiledFilter,
    request: SearchRequest,
    expired: Callable[[], bool],
) -> Iterator[SearchResultEntry]:
    sent = 0
    dit, computed, operational = state.dit, state.computed, state.operational
    uses_dn = compiled.uses_dn  # else entries' DNs stay unparsed (Entry.dn is lazy)
    reader, selection, limit, types_only = (
        plan.reader,
        plan.selection,
        plan.limit,
        request.types_only,
    )
    for entry in entries:
        if expired():
            raise TimeLimitExceeded(f"time limit of {plan.time_limit}s exceeded")
        current = dit.by_uuid(entry.uuid)
        if current is None:
            continue  # deleted since the candidates were taken
        entry = current  # the newest whole snapshot, never a half-applied write
        view = reader.view(entry, dit, computed)
        if view is None or not compiled.matches(view, entry.dn if uses_dn else _ANY_DN):
            continue
        if limit and sent >= limit:
            raise SizeLimitExceeded(f"size limit of {limit} exceeded")
        chosen = select(view, selection, operational=operational, types_only=types_only)
        yield SearchResultEntry(entry.dn_text, chosen)
        sent += 1
