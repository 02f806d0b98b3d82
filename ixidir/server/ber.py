"""BER as LDAP uses it (RFC 4511 §5.1: definite lengths, one-octet tags): the server's one
reader and writer. Sans-IO, no ldaptor: every request and response goes through here.

Reading works on a buffer and positions, never on sliced copies: `element` gives a TLV's tag
and the bounds of its content, checked against the bounds of what contains it. Anything LDAP
forbids or a truncated element raises CodecError, which the server answers with a Notice of
Disconnection (RFC 4511 §4.4.1).
"""

from __future__ import annotations

from ixidir.errors import ProtocolError

BOOLEAN, INTEGER, OCTETS, ENUMERATED = 0x01, 0x02, 0x04, 0x0A
SEQUENCE, SET = 0x30, 0x31
MAX_INT = 2**31 - 1  # RFC 4511 §4.1.1 maxInt
_MAX_LENGTH_OCTETS = 4  # lengths beyond 2**32 can never fit a PDU limit
# One-octet definite lengths (X.690 §8.1.3.4), the common case, looked up rather than built.
_SHORT = tuple(bytes((n,)) for n in range(0x80))
_OCTETS_HEADERS = tuple(bytes((OCTETS, n)) for n in range(0x80))

Buffer = bytes | bytearray


class CodecError(ProtocolError):
    """The client sent bytes that are not a well-formed LDAP request (RFC 4511 §4.1.1)."""


# --- reading ----------------------------------------------------------------------------


def header(buf: Buffer, pos: int, end: int) -> tuple[int, int, int] | None:
    """(tag, content start, content length) at `pos`, or None while the header is incomplete;
    CodecError for forms LDAP forbids (multi-octet tags, indefinite or huge lengths)."""
    if end - pos < 2:
        return None
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise CodecError("multi-octet BER tag")
    first = buf[pos + 1]
    if first < 0x80:
        return tag, pos + 2, first
    count = first & 0x7F
    if count == 0 or count > _MAX_LENGTH_OCTETS:
        raise CodecError("unsupported BER length")
    if end - pos < 2 + count:
        return None
    return tag, pos + 2 + count, int.from_bytes(buf[pos + 2 : pos + 2 + count], "big")


def element(buf: Buffer, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the complete element at `pos`, within `end`."""
    if end - pos >= 2 and buf[pos + 1] < 0x80 and buf[pos] & 0x1F != 0x1F:
        start, stop = pos + 2, pos + 2 + buf[pos + 1]  # the common short form, inline
        if stop <= end:
            return buf[pos], start, stop
        raise CodecError("truncated BER element")
    found = header(buf, pos, end)
    if found is None or found[1] + found[2] > end:
        raise CodecError("truncated BER element")
    return found[0], found[1], found[1] + found[2]


def expect(buf: Buffer, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """The content bounds of the element at `pos`, which must carry `tag`."""
    found, start, stop = element(buf, pos, end)
    if found != tag:
        raise CodecError(f"malformed {what}")
    return start, stop


def elements(buf: Buffer, start: int, end: int) -> list[tuple[int, int, int]]:
    """The (tag, content start, content end) of each element filling [start, end)."""
    found = []
    while start < end:
        item = element(buf, start, end)
        found.append(item)
        start = item[2]
    return found


def sequence_items(value: bytes, what: str) -> list[tuple[int, int, int]]:
    """The elements of a value that is exactly one SEQUENCE (control and extended values)."""
    try:
        tag, start, stop = element(value, 0, len(value))
        if tag != SEQUENCE or stop != len(value):
            raise CodecError(f"malformed {what}")
        return elements(value, start, stop)
    except CodecError as exc:
        raise CodecError(f"malformed {what}") from exc


def integer(
    buf: Buffer, start: int, stop: int, what: str, low: int = 0, high: int = MAX_INT
) -> int:
    """An INTEGER or ENUMERATED's content, within [low, high] (X.690 §8.3: at least one octet)."""
    if not 1 <= stop - start <= 5:
        raise CodecError(f"malformed {what}")
    value = int.from_bytes(buf[start:stop], "big", signed=True)
    if not low <= value <= high:
        raise CodecError(f"malformed {what}")
    return value


def boolean(buf: Buffer, start: int, stop: int, what: str) -> bool:
    """A BOOLEAN's content: one octet, zero is FALSE (X.690 §8.2)."""
    if stop - start != 1:
        raise CodecError(f"malformed {what}")
    return buf[start] != 0


def text(buf: Buffer, start: int, stop: int, what: str) -> str:
    """An LDAPString (RFC 4511 §4.1.2): UTF-8."""
    try:
        return bytes(buf[start:stop]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodecError(f"{what} is not UTF-8") from exc


# --- writing ----------------------------------------------------------------------------


def length(size: int) -> bytes:
    if size < 0x80:
        return _SHORT[size]
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + length(len(content)) + content


def octets(content: bytes, tag: int = OCTETS) -> bytes:
    size = len(content)
    if tag == OCTETS and size < 0x80:
        return _OCTETS_HEADERS[size] + content
    return bytes((tag,)) + length(size) + content


def integer_tlv(value: int, tag: int = INTEGER) -> bytes:
    """Minimal two's complement (X.690 §8.3.2)."""
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def boolean_tlv(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))
