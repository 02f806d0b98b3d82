"""Sans-IO LDAP codec: frames PDUs from a byte stream, decodes requests, encodes responses.

In the style of h11: bytes in (`feed`), requests out (`next_frame` + `decode`, or
`next_message`), bytes for responses (`encode`, and the protocolOp encoders the search paths
keep as bytes); no sockets and no Twisted. The codec owns framing and the maximum PDU size;
`ber` reads and writes the TLVs, `pdus` reads each request protocolOp.
"""

from __future__ import annotations

from ixidir.directory.requests import SearchResultEntry
from ixidir.server import ber
from ixidir.server.ber import OCTETS, SEQUENCE, CodecError
from ixidir.server.messages import (
    Control,
    ExtendedResult,
    LDAPMessage,
    Request,
    Response,
    Result,
    ResultKind,
)
from ixidir.server.pdus import READERS, SearchReader

__all__ = ["CodecError", "LDAPCodec"]

# Buffers are compacted once the consumed prefix is this large and at least half the buffer.
_COMPACT_AFTER = 64 * 1024
_SEARCH_REQUEST = 0x63
_CONTROLS = 0xA0  # [0] IMPLICIT SEQUENCE OF Control, constructed (RFC 4511 §4.1.1)
_RESULT_TAGS = {
    ResultKind.BIND: 0x61,
    ResultKind.SEARCH_DONE: 0x65,
    ResultKind.MODIFY: 0x67,
    ResultKind.ADD: 0x69,
    ResultKind.DELETE: 0x6B,
    ResultKind.MODIFY_DN: 0x6D,
    ResultKind.COMPARE: 0x6F,
}
_EXTENDED_RESPONSE, _SEARCH_ENTRY = 0x78, 0x64


class LDAPCodec:
    """Frames and decodes client PDUs; encodes server responses."""

    def __init__(self, max_pdu_size: int, *, searches: SearchReader | None = None) -> None:
        """`searches` may be shared by every connection (it remembers search shapes);
        `max_pdu_size` may be changed between frames (it grows once a client has bound)."""
        self.max_pdu_size = max_pdu_size
        self._searches = searches if searches is not None else SearchReader()
        self._buffer = bytearray()
        self._offset = 0

    def feed(self, data: bytes) -> None:
        """Append bytes received from the client."""
        self._buffer += data

    def next_message(self) -> LDAPMessage | None:
        """The next complete request, or None until more bytes arrive; CodecError if malformed."""
        pdu = self.next_frame()
        return None if pdu is None else self.decode(pdu)

    def next_frame(self) -> bytes | None:
        """The next complete PDU's bytes, undecoded (the answer cache looks at them first).

        A PDU whose announced length exceeds the limit is refused as soon as its header is
        read, before its content is waited for.
        """
        buffer, start = self._buffer, self._offset
        header = ber.header(buffer, start, len(buffer))
        if header is None:
            return None
        tag, content, length = header
        if tag != SEQUENCE:
            raise CodecError("not an LDAPMessage")
        end = content + length
        if end - start > self.max_pdu_size:
            raise CodecError("PDU exceeds the maximum size")
        if end > len(buffer):
            return None
        pdu = bytes(buffer[start:end])
        self._offset = end
        if self._offset >= _COMPACT_AFTER and self._offset * 2 >= len(buffer):
            del buffer[: self._offset]
            self._offset = 0
        return pdu

    @property
    def buffered(self) -> int:
        """Bytes received but not yet decoded (for tests and limits)."""
        return len(self._buffer) - self._offset

    def decode(self, pdu: bytes) -> LDAPMessage:
        """One complete PDU (outer SEQUENCE included) as our typed message (RFC 4511 §4.1.1:
        messageID, one request protocolOp, optional [0] controls, nothing else)."""
        _, start, end = ber.element(pdu, 0, len(pdu))
        if end != len(pdu):
            raise CodecError("malformed LDAPMessage")
        id_start, pos = ber.expect(pdu, start, end, ber.INTEGER, "LDAPMessage")
        # RFC 4511 §4.1.1.1: messageID 0 is reserved for unsolicited notifications.
        message_id = ber.integer(pdu, id_start, pos, "message ID", 1)
        tag, op_start, op_end = ber.element(pdu, pos, end)
        request: Request
        if tag == _SEARCH_REQUEST:
            request = self._searches(pdu, op_start, op_end)
        else:
            reader = READERS.get(tag)
            if reader is None:
                raise CodecError("not an LDAP request")
            request = reader(pdu, op_start, op_end)
        if op_end == end:
            return LDAPMessage(message_id, request)
        controls_start, controls_end = ber.expect(pdu, op_end, end, _CONTROLS, "controls")
        if controls_end != end:
            raise CodecError("malformed LDAPMessage")
        return LDAPMessage(message_id, request, _controls(pdu, controls_start, controls_end))

    def encode(
        self,
        message_id: int,
        response: Response,
        controls: tuple[Control, ...] | None = None,
    ) -> bytes:
        """One response PDU; controls are RFC 4511 §4.1.11 (criticality omitted when false)."""
        operation = response_operation(response)
        if not controls:
            return envelope(message_id, operation)
        encoded = b"".join(_control(control) for control in controls)
        return envelope(message_id, operation + ber.tlv(_CONTROLS, encoded))


def _controls(pdu: bytes, start: int, end: int) -> tuple[Control, ...]:
    """Control ::= SEQUENCE { controlType, criticality DEFAULT FALSE, controlValue OPTIONAL }."""
    controls = []
    for tag, item_start, item_end in ber.elements(pdu, start, end):
        if tag != SEQUENCE:
            raise CodecError("malformed controls")
        oid_start, pos = ber.expect(pdu, item_start, item_end, OCTETS, "control type")
        oid = ber.text(pdu, oid_start, pos, "control type")
        critical = False
        value = None
        if pos < item_end and pdu[pos] == ber.BOOLEAN:
            flag_start, pos = ber.expect(pdu, pos, item_end, ber.BOOLEAN, "criticality")
            critical = ber.boolean(pdu, flag_start, pos, "criticality")
        if pos < item_end:
            value_start, pos = ber.expect(pdu, pos, item_end, OCTETS, "control value")
            value = pdu[value_start:pos]
        if pos != item_end:
            raise CodecError("malformed controls")
        controls.append(Control(oid, critical, value))
    return tuple(controls)


def _control(control: Control) -> bytes:
    parts = ber.octets(control.oid.encode("ascii"))
    if control.critical:
        parts += ber.boolean_tlv(True)
    if control.value is not None:
        parts += ber.octets(control.value)
    return ber.tlv(SEQUENCE, parts)


def envelope(message_id: int, operation: bytes) -> bytes:
    """The LDAPMessage (RFC 4511 §4.1.1) carrying an encoded protocolOp, without controls."""
    return ber.tlv(SEQUENCE, ber.integer_tlv(message_id) + operation)


def response_operation(response: Response) -> bytes:
    """The protocolOp of any response we send."""
    match response:
        case SearchResultEntry():
            return entry_operation(response)
        case Result():
            return result_operation(response)
        case ExtendedResult():
            body = _result_body(response.code, response.matched_dn, response.message)
            if response.name is not None:
                body += ber.octets(response.name.encode("ascii"), 0x8A)
            if response.value is not None:
                body += ber.octets(response.value, 0x8B)
            return ber.tlv(_EXTENDED_RESPONSE, body)


def entry_operation(entry: SearchResultEntry) -> bytes:
    """The SearchResultEntry protocolOp (RFC 4511 §4.5.2)."""
    octets, length = ber.octets, ber.length
    parts = []
    for name, values in entry.attributes:
        encoded = b"".join([octets(value) for value in values])
        body = octets(name.encode("utf-8")) + b"\x31" + length(len(encoded)) + encoded
        parts.append(b"\x30" + length(len(body)) + body)
    attributes = b"".join(parts)
    body = octets(entry.dn.encode("utf-8")) + b"\x30" + length(len(attributes)) + attributes
    return b"\x64" + length(len(body)) + body


def result_operation(result: Result) -> bytes:
    """An LDAPResult protocolOp (RFC 4511 §4.1.9) of the response its kind names."""
    body = _result_body(result.code, result.matched_dn, result.message)
    return ber.tlv(_RESULT_TAGS[result.kind], body)


def _result_body(code: int, matched_dn: str, message: str) -> bytes:
    return (
        ber.integer_tlv(int(code), ber.ENUMERATED)
        + ber.octets(matched_dn.encode("utf-8"))
        + ber.octets(message.encode("utf-8"))
    )
