"""Direct BER encoding of the responses a search sends: entries and the final result.

Measured: ldaptor's object-per-element encoding took ~35 us per entry and ~20 us per result of
a routing answer; writing the TLVs directly takes a few. Other responses still go through
ldaptor (codec.LDAPCodec.encode). A property test checks the bytes equal ldaptor's.
"""

from __future__ import annotations

from ixidir.directory.requests import SearchResultEntry
from ixidir.server.messages import Result, ResultKind

_SEQUENCE, _SET, _INTEGER, _ENUMERATED, _OCTETS = 0x30, 0x31, 0x02, 0x0A, 0x04
_SEARCH_ENTRY, _SEARCH_DONE = 0x64, 0x65


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(tag: int, value: int) -> bytes:
    return _tlv(tag, value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True))


def encode_search_reply(message_id: int, response: SearchResultEntry | Result) -> bytes | None:
    """The LDAPMessage bytes of a search entry or a search's done result; None for any other
    response (the caller then encodes it with ldaptor)."""
    if isinstance(response, SearchResultEntry):
        op = _entry(response)
    elif isinstance(response, Result) and response.kind is ResultKind.SEARCH_DONE:
        op = _tlv(
            _SEARCH_DONE,
            _integer(_ENUMERATED, int(response.code))
            + _tlv(_OCTETS, response.matched_dn.encode("utf-8"))
            + _tlv(_OCTETS, response.message.encode("utf-8")),
        )
    else:
        return None
    return _tlv(_SEQUENCE, _integer(_INTEGER, message_id) + op)


def _entry(entry: SearchResultEntry) -> bytes:
    attributes = b"".join(
        _tlv(
            _SEQUENCE,
            _tlv(_OCTETS, name.encode("utf-8"))
            + _tlv(_SET, b"".join(_tlv(_OCTETS, value) for value in values)),
        )
        for name, values in entry.attributes
    )
    return _tlv(
        _SEARCH_ENTRY, _tlv(_OCTETS, entry.dn.encode("utf-8")) + _tlv(_SEQUENCE, attributes)
    )
