"""Direct BER encoding of the responses a search sends: entries and the final result.

Measured: ldaptor's object-per-element encoding took ~35 us per entry and ~20 us per result of
a routing answer; writing the TLVs directly takes a few. Other responses still go through
ldaptor (codec.LDAPCodec.encode). A property test checks the bytes equal ldaptor's.

The protocolOp (`entry_operation`, `done_operation`) and the LDAPMessage envelope
(`envelope`) are separate, so the fast path can keep operations and wrap them per message ID.
"""

from __future__ import annotations

from ixidir.directory.requests import SearchResultEntry
from ixidir.server.messages import Result, ResultKind

_SEQUENCE, _SET, _INTEGER, _ENUMERATED, _OCTETS = 0x30, 0x31, 0x02, 0x0A, 0x04
_SEARCH_ENTRY, _SEARCH_DONE = 0x64, 0x65
# One-octet definite lengths (X.690 §8.1.3.4), the common case, looked up rather than built.
_SHORT = tuple(bytes((n,)) for n in range(0x80))
_OCTETS_HEADERS = tuple(bytes((_OCTETS, n)) for n in range(0x80))


def _length(length: int) -> bytes:
    if length < 0x80:
        return _SHORT[length]
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _octets(content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return _OCTETS_HEADERS[length] + content
    return b"\x04" + _length(length) + content


def _integer(tag: int, value: int) -> bytes:
    return _tlv(tag, value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True))


def envelope(message_id: int, operation: bytes) -> bytes:
    """The LDAPMessage (RFC 4511 §4.1.1) carrying an encoded protocolOp, without controls."""
    return _tlv(_SEQUENCE, _integer(_INTEGER, message_id) + operation)


def entry_operation(entry: SearchResultEntry) -> bytes:
    """The SearchResultEntry protocolOp (RFC 4511 §4.5.2)."""
    parts = []
    for name, values in entry.attributes:
        encoded = b"".join([_octets(value) for value in values])
        body = _octets(name.encode("utf-8")) + b"\x31" + _length(len(encoded)) + encoded
        parts.append(b"\x30" + _length(len(body)) + body)
    attributes = b"".join(parts)
    body = _octets(entry.dn.encode("utf-8")) + b"\x30" + _length(len(attributes)) + attributes
    return b"\x64" + _length(len(body)) + body


def done_operation(result: Result) -> bytes:
    """The SearchResultDone protocolOp (RFC 4511 §4.5.2, an LDAPResult)."""
    return _tlv(
        _SEARCH_DONE,
        _integer(_ENUMERATED, int(result.code))
        + _octets(result.matched_dn.encode("utf-8"))
        + _octets(result.message.encode("utf-8")),
    )


def encode_search_reply(message_id: int, response: SearchResultEntry | Result) -> bytes | None:
    """The LDAPMessage bytes of a search entry or a search's done result; None for any other
    response (the caller then encodes it with ldaptor)."""
    if isinstance(response, SearchResultEntry):
        op = entry_operation(response)
    elif isinstance(response, Result) and response.kind is ResultKind.SEARCH_DONE:
        op = done_operation(response)
    else:
        return None
    return envelope(message_id, op)
