"""Request controls: which we support, the criticality rule, and RFC 2696 simple paged results."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from ixidir.directory.requests import Principal, SearchRequest, SearchResultEntry
from ixidir.errors import ProtocolError, UnavailableCriticalExtension
from ixidir.server import ber
from ixidir.server.messages import Control, Request

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"  # RFC 2696
MANAGE_DSA_IT_OID = "2.16.840.1.113730.3.4.2"  # RFC 3296; we hold no referrals, so a no-op

SUPPORTED_CONTROLS = (PAGED_RESULTS_OID, MANAGE_DSA_IT_OID)

# Paged searches a connection may keep suspended; the oldest is dropped beyond this, so an
# abandoned client cannot pin unbounded result iterators.
MAX_PAGED_SEARCHES = 8
_COOKIE_BYTES = 16


def check_critical(request: Request, controls: tuple[Control, ...]) -> None:
    """RFC 4511 §4.1.11: an unknown or inappropriate critical control fails the operation."""
    for control in controls:
        if not control.critical:
            continue
        if control.oid == MANAGE_DSA_IT_OID:
            continue
        if control.oid == PAGED_RESULTS_OID and isinstance(request, SearchRequest):
            continue
        raise UnavailableCriticalExtension(f"critical control {control.oid} is not supported")


def find(controls: tuple[Control, ...], oid: str) -> Control | None:
    return next((c for c in controls if c.oid == oid), None)


@dataclass(frozen=True, slots=True)
class PagedRequest:
    """realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt), cookie OCTET STRING }."""

    size: int
    cookie: bytes


def decode_paged(value: bytes | None) -> PagedRequest:
    """Decode the control value; a malformed one is a protocolError for the search."""
    if value is None:
        raise ProtocolError("paged results control without a value")
    items = ber.sequence_items(value, "paged results control")
    if len(items) != 2 or items[0][0] != ber.INTEGER or items[1][0] != ber.OCTETS:
        raise ProtocolError("malformed paged results control")
    (_, size_start, size_end), (_, cookie_start, cookie_end) = items
    size = ber.integer(value, size_start, size_end, "paged results control")
    return PagedRequest(size, value[cookie_start:cookie_end])


def paged_response(cookie: bytes) -> Control:
    """The response control; RFC 2696 sets size to 0 (unknown estimate) and cookie "" at the end."""
    value = ber.sequence(ber.integer_tlv(0), ber.octets(cookie))
    return Control(PAGED_RESULTS_OID, False, value)


@dataclass(slots=True)
class _Suspended:
    request: SearchRequest
    principal: Principal
    entries: Iterator[SearchResultEntry]


class PagedSearches:
    """One connection's suspended paged searches, keyed by the cookie we handed out."""

    def __init__(self) -> None:
        self._by_cookie: OrderedDict[bytes, _Suspended] = OrderedDict()

    def suspend(
        self, request: SearchRequest, principal: Principal, entries: Iterator[SearchResultEntry]
    ) -> bytes:
        """Keep `entries` for the next page; returns the cookie that resumes it."""
        cookie = secrets.token_bytes(_COOKIE_BYTES)
        self._by_cookie[cookie] = _Suspended(request, principal, entries)
        while len(self._by_cookie) > MAX_PAGED_SEARCHES:
            _, dropped = self._by_cookie.popitem(last=False)
            _close(dropped.entries)
        return cookie

    def resume(
        self, cookie: bytes, request: SearchRequest, principal: Principal
    ) -> Iterator[SearchResultEntry]:
        """RFC 2696: the cookie must come from this connection's same search."""
        suspended = self._by_cookie.pop(cookie, None)
        if suspended is None or (suspended.request, suspended.principal) != (request, principal):
            if suspended is not None:
                _close(suspended.entries)
            raise ProtocolError("unknown paged results cookie")
        return suspended.entries

    def clear(self) -> None:
        """Drop every suspended search (a new bind changes who is asking)."""
        for suspended in self._by_cookie.values():
            _close(suspended.entries)
        self._by_cookie.clear()


def _close(entries: Iterator[SearchResultEntry]) -> None:
    close = getattr(entries, "close", None)
    if close is not None:
        close()
