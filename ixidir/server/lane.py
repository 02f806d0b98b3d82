"""The routing lane (DESIGN.md fast path): a routing search answered from its bytes.

The Messaging Connector sends one search shape (base, scope, attribute list, the filter around
the number) again and again with a new number. The lane reads a search PDU only as far as the
number, and keys the bytes before and after it, with who asks, to the shape the directory
settled once (`ops.lookup.shape_of`: plan, attribute, the filter's other equalities). Each
entry it finds keeps its encoded SearchResultEntry per presentation in `Entry.memo`, made on
first use; a write replaces the entry and so drops what it kept. A search nobody sent before
thus costs a scan of its bytes, one canonicalization and dictionary look-ups, with no decoding
into request objects. Anything else returns None and goes through the codec to the general
search; a property test pins both to the same bytes. Sans-IO: no Twisted here.
"""

from __future__ import annotations

from collections.abc import Hashable

from ixidir.directory.dit import Entry
from ixidir.directory.ops.lookup import Shape
from ixidir.directory.requests import Principal, SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server import ber
from ixidir.server.ber import OCTETS, CodecError
from ixidir.server.codec import entry_operation, result_operation
from ixidir.server.facade import Directory
from ixidir.server.messages import Result, ResultKind
from ixidir.server.pdus import SearchReader

SUCCESS_DONE = result_operation(Result(ResultKind.SEARCH_DONE, ResultCode.SUCCESS))
# Presentations an entry keeps at most (a client cycling attribute lists starts it afresh).
MAX_FORMS = 8
# Shapes remembered per generation (emptied when full: a client sending ever new ones).
MAX_SHAPES = 1024
_EQUALITY, _AND = 0xA3, 0xA0
_FIELDS_BEFORE_FILTER = 6  # baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly

ShapeKey = tuple[Hashable, bytes, bytes]  # who asks, the bytes before and after the number


class RoutingLane:
    """Routing searches answered from shapes the directory settled once per generation."""

    def __init__(self, directory: Directory, searches: SearchReader | None = None) -> None:
        """`searches`: the codec's reader, shared so a shape's first request is decoded by
        the same code as every other request."""
        self._directory = directory
        self._searches = searches if searches is not None else SearchReader()
        self._shapes: dict[ShapeKey, Shape | None] = {}
        self._number_attributes: dict[bytes, bool] = {}
        self._memo_keys: dict[Hashable, tuple[str, Hashable]] = {}
        self._layout = -1

    def answer(
        self, principal: Principal, operation: bytes, layout: int
    ) -> tuple[bytes, ...] | None:
        """The encoded protocolOps answering the SearchRequest protocolOp `operation` (as
        fastpath.split_search gives it), or None when the general search must answer.
        `layout`: the directory's (Directory.layout), which the settled shapes depend on."""
        if layout != self._layout:
            # A write may create or remove a search base, or change the site's number rule.
            self._shapes.clear()
            self._number_attributes.clear()
            self._layout = layout
        bounds = self._number(operation)
        if bounds is None:
            return None
        start, stop = bounds
        key = (principal, operation[:start], operation[stop:])
        try:
            shape = self._shapes[key]
        except KeyError:
            shape = self._settle(key, principal, operation)
        if shape is None:
            return None
        entries = self._directory.find(shape, operation[start:stop])
        if entries is None:
            return None
        return (*(self._encoded(shape, entry) for entry in entries), SUCCESS_DONE)

    def _number(self, op: bytes) -> tuple[int, int] | None:
        """The bounds of the number's value in a search whose filter is an equality on a
        routing attribute, or an AND whose first such equality holds it (ops.lookup's rule)."""
        try:
            _, pos, end = ber.element(op, 0, len(op))
            for _ in range(_FIELDS_BEFORE_FILTER):
                # Short lengths skipped inline (a base DN over 127 bytes takes element): an
                # overrun fails in the element call below, and a shape's bytes are trusted
                # only once the codec has read them (_settle).
                size = op[pos + 1]
                pos = pos + 2 + size if size < 0x80 else ber.element(op, pos, end)[2]
            tag, start, stop = ber.element(op, pos, end)
            if tag == _EQUALITY:
                return self._value(op, start, stop)
            if tag != _AND:
                return None
            while start < stop:
                tag, inner, after = ber.element(op, start, stop)
                if tag != _EQUALITY:
                    return None
                bounds = self._value(op, inner, after)
                if bounds is not None:
                    return bounds
                start = after
        except (CodecError, IndexError):
            return None  # the codec says what is wrong with it
        return None

    def _value(self, op: bytes, start: int, stop: int) -> tuple[int, int] | None:
        """The assertion value's bounds when the AttributeValueAssertion at start..stop is on
        a routing attribute."""
        tag, attr_start, attr_stop = ber.element(op, start, stop)
        if tag != OCTETS:
            return None
        attr = op[attr_start:attr_stop]
        is_number = self._number_attributes.get(attr)
        if is_number is None:
            is_number = self._is_number_attribute(attr)
        if not is_number:
            return None
        tag, value_start, value_stop = ber.element(op, attr_stop, stop)
        return (value_start, value_stop) if tag == OCTETS and value_stop == stop else None

    def _is_number_attribute(self, attr: bytes) -> bool:
        try:
            found = self._directory.is_number_attribute(attr.decode("utf-8"))
        except UnicodeDecodeError:
            found = False
        if len(self._number_attributes) >= MAX_SHAPES:
            self._number_attributes.clear()
        self._number_attributes[attr] = found
        return found

    def _settle(self, key: ShapeKey, principal: Principal, op: bytes) -> Shape | None:
        """Decode the shape's first request with the codec's reader and let the directory
        settle it; remembered also when it is no routing shape (None)."""
        try:
            _, start, end = ber.element(op, 0, len(op))
            request = self._searches(op, start, end)
        except CodecError:
            shape = None
        else:
            shape = self._directory.routing_shape(principal, request)
        if len(self._shapes) >= MAX_SHAPES:
            self._shapes.clear()
        self._shapes[key] = shape
        return shape

    def _encoded(self, shape: Shape, entry: Entry) -> bytes:
        key = self._memo_keys.get(shape.form)
        if key is None:
            # One key object per form, not one per entry that keeps an answer under it.
            if len(self._memo_keys) >= MAX_SHAPES:
                self._memo_keys.clear()
            key = self._memo_keys[shape.form] = ("lane", shape.form)
        operation = entry.recall(key)
        if isinstance(operation, bytes):
            return operation
        selected = self._directory.present(shape, entry)
        encoded = entry_operation(SearchResultEntry(entry.dn_text, selected))
        entry.remember(key, encoded, limit=MAX_FORMS)
        return encoded
