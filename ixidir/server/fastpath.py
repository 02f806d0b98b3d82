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
from dataclasses import dataclass

_SEQUENCE = 0x30
_INTEGER = 0x02
_SEARCH_REQUEST = 0x63
# Cache answers up to this size only: the connector's answers are one entry of a few hundred
# bytes, and big answers would crowd them out.
MAX_ANSWER_BYTES = 16 * 1024
MAX_ANSWERS = 50_000


@dataclass(frozen=True, slots=True)
class SearchFrame:
    """A search request PDU split into its message ID and the bytes that follow it."""

    message_id: int
    operation: bytes  # the SearchRequest protocolOp (tag to end): the cache key's request part


def split_search(pdu: bytes) -> SearchFrame | None:
    """The message ID and protocolOp of a control-free SearchRequest PDU, else None.

    Only the outer envelope is read; anything unusual (controls, odd lengths) returns None and
    goes the normal way, where the codec validates it fully.
    """
    header = _header(pdu, 0)
    if header is None or header[0] != _SEQUENCE or header[1] + header[2] != len(pdu):
        return None
    id_header = _header(pdu, header[1])
    if id_header is None or id_header[0] != _INTEGER or not 1 <= id_header[2] <= 4:
        return None
    op_start = id_header[1] + id_header[2]
    message_id = int.from_bytes(pdu[id_header[1] : op_start], "big", signed=True)
    op_header = _header(pdu, op_start)
    if message_id <= 0 or op_header is None or op_header[0] != _SEARCH_REQUEST:
        return None
    if op_header[1] + op_header[2] != len(pdu):
        return None  # controls follow the operation: paged searches and the like
    return SearchFrame(message_id, pdu[op_start:])


def searches_root_dse(search: SearchFrame) -> bool:
    """Whether the search reads the root DSE (base "" with scope baseObject, RFC 4512 §5.1),
    whose answer is never cached: it carries counters that change with every request."""
    header = _header(search.operation, 0)
    if header is None:
        return False
    start = header[1]
    # baseObject OCTET STRING "" then scope ENUMERATED baseObject(0).
    return search.operation[start : start + 5] == b"\x04\x00\x0a\x01\x00"


def strip_envelope(message: bytes) -> bytes:
    """The protocolOp of an encoded LDAPMessage we produced (drops envelope and message ID)."""
    header = _header(message, 0)
    id_header = _header(message, header[1]) if header else None
    if header is None or id_header is None:
        raise ValueError("not an encoded LDAPMessage")
    return message[id_header[1] + id_header[2] :]


def wrap(message_id: int, operations: tuple[bytes, ...]) -> bytes:
    """LDAPMessage envelopes with `message_id` around each stored protocolOp."""
    id_bytes = _integer(message_id)
    return b"".join(_tlv(_SEQUENCE, len(id_bytes) + len(op)) + id_bytes + op for op in operations)


class AnswerCache:
    """Encoded answers keyed by (who asks, request bytes), valid for one directory generation."""

    def __init__(self, max_answers: int = MAX_ANSWERS) -> None:
        self._max = max_answers
        self._answers: OrderedDict[tuple[Hashable, bytes], tuple[bytes, ...]] = OrderedDict()
        self._generation = -1
        self.hits = 0
        self.misses = 0

    def get(self, who: Hashable, operation: bytes, generation: int) -> tuple[bytes, ...] | None:
        if generation != self._generation:
            self._answers.clear()
            self._generation = generation
        found = self._answers.get((who, operation))
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(
        self, who: Hashable, operation: bytes, generation: int, answer: tuple[bytes, ...]
    ) -> None:
        if generation != self._generation or sum(map(len, answer)) > MAX_ANSWER_BYTES:
            return
        self._answers[(who, operation)] = answer
        if len(self._answers) > self._max:
            self._answers.popitem(last=False)


def _header(buf: bytes, start: int) -> tuple[int, int, int] | None:
    if len(buf) - start < 2:
        return None
    tag, first = buf[start], buf[start + 1]
    if first < 0x80:
        return tag, start + 2, first
    count = first & 0x7F
    if not 1 <= count <= 4 or len(buf) - start < 2 + count:
        return None
    return tag, start + 2 + count, int.from_bytes(buf[start + 2 : start + 2 + count], "big")


def _tlv(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes((tag, length))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets


def _integer(value: int) -> bytes:
    content = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return _tlv(_INTEGER, len(content)) + content
