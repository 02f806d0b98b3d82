"""Sans-IO LDAP codec: frames BER PDUs from a byte stream and decodes them with ldaptor.

In the style of h11: bytes in (`feed`), messages out (`next_message`), bytes for responses
(`encode`); no sockets and no Twisted. The codec owns framing and the maximum PDU size, because
ldaptor's own framing buffers without limit (STYLE.md §2).
"""

from __future__ import annotations

from ldaptor.protocols import pureber, pureldap

from ixidir.directory.requests import SearchResultEntry
from ixidir.server.bercontext import message_decoder
from ixidir.server.encoder import encode_search_reply
from ixidir.server.messages import Control, LDAPMessage, Response, Result
from ixidir.server.searchcodec import decode_search
from ixidir.server.translate import CodecError, decode_controls, decode_request, encode_response

__all__ = ["CodecError", "LDAPCodec"]

# Buffers are compacted once the consumed prefix is this large and at least half the buffer.
_COMPACT_AFTER = 64 * 1024
_SEQUENCE = 0x30
_INTEGER = 0x02
_CONTROLS = 0xA0  # [0] IMPLICIT SEQUENCE OF Control, constructed (RFC 4511 §4.1.1)
# RFC 4511 §4.2 ... §4.12 request protocolOps, with the constructed bit as they must be sent.
_REQUEST_TAGS = frozenset({0x60, 0x42, 0x63, 0x66, 0x68, 0x4A, 0x6C, 0x6E, 0x50, 0x77})
_MAX_LENGTH_OCTETS = 4  # lengths beyond 2**32 can never fit a PDU limit
# ldaptor's berDecodeMultiple re-slices the rest of a SEQUENCE after each element, so decoding
# costs about (elements x content length) bytes copied per SEQUENCE: quadratic. 512 KiB of
# empty values took 4 s of the reactor. We bound that product per PDU; 2**32 is ~0.3 s here,
# while an add with 5,000 values of 50 bytes needs 1.25e9.
MAX_DECODE_WORK = 2**32


def _read_header(buf: bytes | bytearray, start: int, end: int) -> tuple[int, int, int] | None:
    """Read one BER tag and definite length at `start`: (tag, content start, content length).

    Returns None when more bytes are needed; raises CodecError for forms LDAP forbids
    (multi-octet tags, RFC 4511 §5.1's ban on indefinite lengths).
    """
    if end - start < 2:
        return None
    tag = buf[start]
    if tag & 0x1F == 0x1F:
        raise CodecError("multi-octet BER tag")
    first = buf[start + 1]
    if first < 0x80:
        return tag, start + 2, first
    count = first & 0x7F
    if count == 0 or count > _MAX_LENGTH_OCTETS:
        raise CodecError("unsupported BER length")
    if end - start < 2 + count:
        return None
    length = int.from_bytes(buf[start + 2 : start + 2 + count], "big")
    return tag, start + 2 + count, length


def _elements(pdu: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """Split a complete constructed value into (tag, content start, content end) triples."""
    found = []
    while start < end:
        header = _read_header(pdu, start, end)
        if header is None or header[1] + header[2] > end:
            raise CodecError("truncated BER element")
        tag, content, length = header
        found.append((tag, content, content + length))
        start = content + length
    return found


def _check_envelope(pdu: bytes, content: int) -> None:
    """RFC 4511 §4.1.1: messageID, one request protocolOp, optional [0] controls, nothing else.

    Checked before ldaptor sees the PDU: a response op from a client, an unknown op or stray
    elements get a protocol error, and ldaptor's control decoder (which prints and skips
    unknown tags) only ever sees SEQUENCEs.
    """
    parts = _elements(pdu, content, len(pdu))
    if len(parts) not in (2, 3) or parts[0][0] != _INTEGER:
        raise CodecError("malformed LDAPMessage")
    if parts[1][0] not in _REQUEST_TAGS:
        raise CodecError("not an LDAP request")
    if len(parts) == 3:
        tag, start, end = parts[2]
        if tag != _CONTROLS or any(t != _SEQUENCE for t, _, _ in _elements(pdu, start, end)):
            raise CodecError("malformed controls")


def _children(pdu: bytes, start: int, end: int, budget: int) -> list[tuple[int, int]] | None:
    """The elements of [start, end) if it parses completely as BER TLVs, else None; stops
    (returning what it has) once their count times the length exceeds `budget`."""
    found: list[tuple[int, int]] = []
    while start < end:
        try:
            header = _read_header(pdu, start, end)
        except CodecError:
            return None
        if header is None or header[1] + header[2] > end:
            return None
        found.append((header[1], header[1] + header[2]))
        start = header[1] + header[2]
        if len(found) * (end - start) > budget:
            break
    return found


def _check_decode_work(pdu: bytes, start: int) -> None:
    """Refuse a PDU whose decoding would cost more than MAX_DECODE_WORK (see there).

    ldaptor ignores the constructed bit, so any content that parses as TLVs is counted as a
    SEQUENCE: an over-estimate that only ever errs towards refusing.
    """
    work = 0
    stack = [(start, len(pdu))]
    while stack:
        begin, end = stack.pop()
        children = _children(pdu, begin, end, MAX_DECODE_WORK - work)
        if not children:
            continue
        work += len(children) * (end - begin)
        if work > MAX_DECODE_WORK:
            raise CodecError("request too complex to decode")
        stack.extend(children)


def decode_pdu(pdu: bytes) -> LDAPMessage:
    """Decode one complete PDU (outer SEQUENCE included) into our typed message.

    Plain searches take the direct reader (searchcodec); everything else, and any search it
    does not read, goes through ldaptor's decoder.
    """
    return decode_search(pdu) or decode_with_ldaptor(pdu)


def decode_with_ldaptor(pdu: bytes) -> LDAPMessage:
    """The general decoder: ldaptor's PDU classes, then our translation and checks."""
    header = _read_header(pdu, 0, len(pdu))
    if header is None or header[0] != _SEQUENCE or header[1] + header[2] != len(pdu):
        raise CodecError("malformed LDAPMessage")
    _check_envelope(pdu, header[1])
    _check_decode_work(pdu, header[1])
    try:
        message, used = pureber.berDecodeObject(message_decoder(), pdu)
    # ldaptor raises assorted errors on bad input (AssertionError, IndexError, KeyError,
    # TypeError, AttributeError, its own BER errors, RecursionError on deep nesting): all of
    # them mean the client's PDU is malformed.
    except Exception as exc:
        raise CodecError("malformed LDAPMessage") from exc
    if not isinstance(message, pureldap.LDAPMessage) or used != len(pdu):
        raise CodecError("malformed LDAPMessage")
    message_id = message.id
    # RFC 4511 §4.1.1.1: messageID 0 is reserved for unsolicited notifications.
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id < 1:
        raise CodecError("invalid message ID")
    if message_id > 2**31 - 1:
        raise CodecError("invalid message ID")
    return LDAPMessage(message_id, decode_request(message.value), decode_controls(message.controls))


class LDAPCodec:
    """Frames and decodes client PDUs; encodes server responses."""

    def __init__(self, max_pdu_size: int) -> None:
        self._max_pdu_size = max_pdu_size
        self._buffer = bytearray()
        self._offset = 0

    def feed(self, data: bytes) -> None:
        """Append bytes received from the client."""
        self._buffer += data

    def next_message(self) -> LDAPMessage | None:
        """The next complete request, or None until more bytes arrive; CodecError if malformed."""
        pdu = self.next_frame()
        return None if pdu is None else decode_pdu(pdu)

    def next_frame(self) -> bytes | None:
        """The next complete PDU's bytes, undecoded (the fast path looks at them first).

        A PDU whose announced length exceeds the limit is refused as soon as its header is
        read, before its content is waited for.
        """
        buffer, start = self._buffer, self._offset
        header = _read_header(buffer, start, len(buffer))
        if header is None:
            return None
        tag, content, length = header
        if tag != _SEQUENCE:
            raise CodecError("not an LDAPMessage")
        end = content + length
        if end - start > self._max_pdu_size:
            raise CodecError("PDU exceeds the maximum size")
        if end > len(buffer):
            return None
        pdu = bytes(buffer[start:end])
        self._offset = end
        self._compact()
        return pdu

    def _compact(self) -> None:
        if self._offset >= _COMPACT_AFTER and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet decoded (for tests and limits)."""
        return len(self._buffer) - self._offset

    def encode(
        self,
        message_id: int,
        response: Response,
        controls: tuple[Control, ...] | None = None,
    ) -> bytes:
        """One response PDU; controls are RFC 4511 §4.1.11 (criticality omitted when false)."""
        if not controls and isinstance(response, SearchResultEntry | Result):
            direct = encode_search_reply(message_id, response)
            if direct is not None:
                return direct
        wire_controls = None
        if controls:
            wire_controls = [
                (c.oid.encode("ascii"), True if c.critical else None, c.value) for c in controls
            ]
        pdu = pureldap.LDAPMessage(encode_response(response), controls=wire_controls, id=message_id)
        wire: bytes = pdu.toWire()
        return wire
