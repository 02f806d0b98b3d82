"""The search fast path (DESIGN.md): answers to repeated searches kept as encoded bytes.

The Messaging Connector sends the same few shapes of search again and again. A search PDU
without controls is keyed by its bytes after the message ID, plus who asks; a hit is answered by
wrapping the stored protocolOps in new LDAPMessage envelopes, with no BER decoding, no directory
work and no encoding. Any change of the directory (its `generation`) empties the cache, so an
answer is never older than the data. Sans-IO: no Twisted here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple

from ixidir.errors import ResultCode
from ixidir.server import ber
from ixidir.server.ber import CodecError

_SEARCH_REQUEST, _SEARCH_DONE = 0x63, 0x65
# Result codes whose answers depend only on the request, the caller and the data: cacheable.
_STABLE = frozenset({ResultCode.SUCCESS, ResultCode.SIZE_LIMIT_EXCEEDED, ResultCode.NO_SUCH_OBJECT})
# Cache answers up to this size only: the connector's answers are one entry of a few hundred
# bytes, and big answers would crowd them out.
MAX_ANSWER_BYTES = 16 * 1024
MAX_ANSWERS = 50_000
MAX_ASKERS = 4096  # distinct identities with answers kept, before all are forgotten


class SearchFrame(NamedTuple):
    """A search request PDU split into its message ID and the bytes that follow it (a
    NamedTuple: one is made for every search, at a quarter of a frozen dataclass's cost)."""

    message_id: int
    operation: bytes  # the SearchRequest protocolOp (tag to end): the cache key's request part


def split_search(pdu: bytes) -> SearchFrame | None:
    """The message ID and protocolOp of a control-free SearchRequest PDU, else None.

    Only the outer envelope is read; anything unusual (controls, odd lengths) returns None and
    goes the normal way, where the codec validates it fully. Every search passes here, so the
    usual form (definite lengths of up to two octets, a message ID of up to four) is read
    inline, at a quarter of `ber.element`'s cost; `_split_search` reads any other.
    """
    size = len(pdu)
    if size < 8 or pdu[0] != ber.SEQUENCE:
        return None
    first = pdu[1]
    if first < 0x80:
        body = 2
    elif first == 0x81:
        body = 3
    elif first == 0x82:
        body = 4
    else:
        return _split_search(pdu)
    id_size = pdu[body + 1]
    op_start = body + 2 + id_size
    if pdu[body] != ber.INTEGER or not 1 <= id_size <= 4 or op_start + 2 > size:
        return None
    if pdu[op_start] != _SEARCH_REQUEST:
        return None
    op_first = pdu[op_start + 1]
    if op_first < 0x80:
        op_end = op_start + 2 + op_first
    elif op_first == 0x81 and op_start + 3 <= size:
        op_end = op_start + 3 + pdu[op_start + 2]
    elif op_first == 0x82 and op_start + 4 <= size:
        op_end = op_start + 4 + (pdu[op_start + 2] << 8 | pdu[op_start + 3])
    else:
        return _split_search(pdu)
    declared = first if first < 0x80 else int.from_bytes(pdu[2:body], "big")
    if op_end != size or body + declared != size:
        return None  # controls follow the operation, or the lengths disagree
    message_id = int.from_bytes(pdu[body + 2 : op_start], "big", signed=True)
    if message_id <= 0:
        return None
    return SearchFrame(message_id, pdu[op_start:])


def _split_search(pdu: bytes) -> SearchFrame | None:
    """`split_search` for any definite lengths, element by element."""
    try:
        envelope, start, end = ber.element(pdu, 0, len(pdu))
        tag, id_start, op_start = ber.element(pdu, start, end)
        if (
            envelope != ber.SEQUENCE
            or end != len(pdu)
            or tag != ber.INTEGER
            or not 1 <= op_start - id_start <= 4
        ):
            return None
        tag, _, op_end = ber.element(pdu, op_start, end)
    except CodecError:
        return None
    message_id = int.from_bytes(pdu[id_start:op_start], "big", signed=True)
    if message_id <= 0 or tag != _SEARCH_REQUEST or op_end != end:
        return None  # controls follow the operation: paged searches and the like
    return SearchFrame(message_id, pdu[op_start:])


def is_stable(search: SearchFrame, operations: list[bytes]) -> bool:
    """Whether a general search's answer may be kept: it ends in a SearchResultDone whose code
    does not depend on timing (RFC 4511 §4.1.9), and it is not the root DSE's."""
    if not operations or operations[-1][0] != _SEARCH_DONE or searches_root_dse(search):
        return False
    done = operations[-1]
    _, start, stop = ber.element(done, 0, len(done))
    tag, code_start, code_stop = ber.element(done, start, stop)
    return tag == ber.ENUMERATED and code_stop == code_start + 1 and done[code_start] in _STABLE


def searches_root_dse(search: SearchFrame) -> bool:
    """Whether the search reads the root DSE (base "" with scope baseObject, RFC 4512 §5.1),
    whose answer is never cached: it carries counters that change with every request."""
    start = ber.element(search.operation, 0, len(search.operation))[1]
    # baseObject OCTET STRING "" then scope ENUMERATED baseObject(0).
    return search.operation[start : start + 5] == b"\x04\x00\x0a\x01\x00"


def wrap(message_id: int, operations: tuple[bytes, ...]) -> bytes:
    """LDAPMessage envelopes with `message_id` around each stored protocolOp."""
    ident = _IDENTS[message_id] if message_id < _SMALL_IDS else ber.integer_tlv(message_id)
    size = len(ident)
    parts: list[bytes] = []
    for op in operations:
        body = size + len(op)
        parts += (_HEADERS[body] if body < 0x80 else b"\x30" + ber.length(body), ident, op)
    return b"".join(parts)


_SMALL_IDS = 1 << 15  # message IDs whose INTEGER encoding is kept (clients count up from 1)
_IDENTS = tuple(ber.integer_tlv(n) for n in range(_SMALL_IDS))
_HEADERS = tuple(bytes((ber.SEQUENCE, n)) for n in range(0x80))


class AnswerCache:
    """Encoded answers keyed by (who asks, request bytes), each valid for the directory
    generation it was made in.

    Who asks is stored as a small number of its own: a key holding the Principal (a dataclass,
    so an object the garbage collector tracks) kept every key tracked, and 50,000 of them made
    the collector's older generations slow to walk (0.3-0.7 ms a pass, a 5-16 ms full pass now
    and then, in the middle of a look-up); (number, bytes) is left alone after its first pass.

    A write does not empty the cache: each answer carries its generation and one of another
    generation is a miss, replaced when the answer is made again; the oldest go first once
    MAX_ANSWERS are kept. Emptying it at the first look-up after each write freed up to 50,000
    answers inside that look-up (~1 µs each) while the writes went on.
    """

    def __init__(self, max_answers: int = MAX_ANSWERS) -> None:
        self._max = max_answers
        self._answers: OrderedDict[tuple[int, bytes], tuple[int, tuple[bytes, ...]]] = OrderedDict()
        self._askers: dict[Hashable, int] = {}
        self.hits = 0
        self.misses = 0

    def get(self, who: Hashable, operation: bytes, generation: int) -> tuple[bytes, ...] | None:
        asker = self._askers.get(who)
        found = None if asker is None else self._answers.get((asker, operation))
        if found is None or found[0] != generation:
            self.misses += 1
            return None
        self.hits += 1
        return found[1]

    def put(
        self, who: Hashable, operation: bytes, generation: int, answer: tuple[bytes, ...]
    ) -> None:
        if sum(map(len, answer)) > MAX_ANSWER_BYTES:
            return
        asker = self._askers.get(who)
        if asker is None:
            if len(self._askers) >= MAX_ASKERS:  # numbers are never reused for someone else
                self._askers.clear()
                self._answers.clear()
            asker = self._askers[who] = len(self._askers)
        answers = self._answers
        key = (asker, operation)
        answers.pop(key, None)  # one made again (a newer generation) goes last, as a new one
        answers[key] = (generation, answer)
        if len(answers) > self._max:
            answers.popitem(last=False)
