"""Distinguished names as values: RFC 4514 parsing and string form.

A `DN` keeps the attribute types and values as the client wrote them (for display); comparing DNs
needs the schema's matching rules, so normalization lives in `ixidir.schema` (`Schema.dn_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ixidir.errors import InvalidDNSyntax

# RFC 4514 §3: a descr (keystring) or a numericoid.
_ATTR_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+")
_SPECIAL = set(',+"\\<>;')
_HEX = "0123456789abcdefABCDEF"
# Longer DNs are refused before parsing; no real directory name comes near it.
MAX_DN_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class AVA:
    """One attribute type and value assertion of an RDN (`cn=Alice`)."""

    attr: str
    value: str

    def __str__(self) -> str:
        return f"{self.attr}={escape_value(self.value)}"


@dataclass(frozen=True, slots=True)
class RDN:
    """A relative distinguished name: one or more AVAs joined by `+`."""

    avas: tuple[AVA, ...]

    def __str__(self) -> str:
        return "+".join(str(ava) for ava in self.avas)


@dataclass(frozen=True, slots=True)
class DN:
    """A distinguished name, most specific RDN first (RFC 4514 order)."""

    rdns: tuple[RDN, ...] = ()
    # The string form when the parsed text already is it (a simple DN, `_parse_simple`): every
    # add and search result needs it, and joining it again costs ~40 µs.
    text: str = field(default="", compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> DN:
        """Parse the RFC 4514 string form; raise `InvalidDNSyntax` naming the problem."""
        simple = _parse_simple(text)
        if simple is not None:
            return simple
        return cls(tuple(_Parser(text).parse()))

    def __str__(self) -> str:
        return self.text or ",".join(str(rdn) for rdn in self.rdns)

    def __bool__(self) -> bool:
        return bool(self.rdns)

    @property
    def rdn(self) -> RDN:
        """The leftmost RDN; the root DSE (empty DN) has none."""
        if not self.rdns:
            raise InvalidDNSyntax("the empty DN has no RDN")
        return self.rdns[0]

    @property
    def parent(self) -> DN:
        return DN(self.rdns[1:])

    def child(self, rdn: RDN) -> DN:
        return DN((rdn, *self.rdns))


# A DN with none of these needs no escape handling: `attr=value` pairs split on , and =.
_NOT_SIMPLE = frozenset('\\"+;<>#\0')


def _parse_simple(text: str) -> DN | None:
    """The common case, ~10x faster than the full parser: no escapes, no multi-valued RDNs,
    no spaces around separators, no leading/trailing spaces in values; else None."""
    if not text or len(text) > MAX_DN_LENGTH or not _NOT_SIMPLE.isdisjoint(text):
        return None
    rdns = []
    for part in text.split(","):
        attr, equals, value = part.partition("=")
        if (
            not equals
            or not value
            or value[0] == " "
            or value[-1] == " "
            or _ATTR_TYPE.fullmatch(attr) is None
        ):
            return None
        rdns.append(RDN((AVA(attr, value),)))
    return DN(tuple(rdns), text)  # escape_value leaves every value as it is: text is the form


def escape_value(value: str) -> str:
    """Escape an attribute value for the RFC 4514 string form."""
    out: list[str] = []
    last = len(value) - 1
    for i, char in enumerate(value):
        if char in _SPECIAL or (char in " #" and i == 0) or (char == " " and i == last):
            out.append("\\" + char)
        elif char == "\0":
            out.append("\\00")
        else:
            out.append(char)
    return "".join(out)


class _Parser:
    """A small recursive-descent parser over the RFC 4514 grammar."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_DN_LENGTH:
            raise InvalidDNSyntax(f"DN longer than {MAX_DN_LENGTH} characters")
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> InvalidDNSyntax:
        return InvalidDNSyntax(f"invalid DN {self.text!r}: {why} at position {self.pos}")

    def parse(self) -> list[RDN]:
        if not self.text.strip():
            return []
        rdns = [self.rdn()]
        while self.pos < len(self.text):
            if self.text[self.pos] not in ",;":
                raise self.fail("expected ','")
            self.pos += 1
            rdns.append(self.rdn())
        return rdns

    def rdn(self) -> RDN:
        avas = [self.ava()]
        while self.pos < len(self.text) and self.text[self.pos] == "+":
            self.pos += 1
            avas.append(self.ava())
        return RDN(tuple(avas))

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def ava(self) -> AVA:
        self.skip_spaces()
        match = _ATTR_TYPE.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected an attribute type")
        self.pos = match.end()
        self.skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != "=":
            raise self.fail("expected '='")
        self.pos += 1
        self.skip_spaces()
        value = self.hex_value() if self.text.startswith("#", self.pos) else self.string_value()
        return AVA(match.group(), value)

    def hex_value(self) -> str:
        """`#` followed by the BER encoding in hex; kept as written (we store it verbatim)."""
        start = self.pos
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] in _HEX:
            self.pos += 1
        if (self.pos - start - 1) % 2 or self.pos - start < 3:
            raise self.fail("odd or empty hex string")
        self.skip_spaces()
        return self.text[start : self.pos].rstrip()

    def string_value(self) -> str:
        raw = bytearray()
        trailing_spaces = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ",;+":
                break
            if char == "\\":
                raw.extend(self.escape())
                trailing_spaces = 0
                continue
            if char in '"<>' or char == "\0":  # RFC 4514 SUTF1 excludes these
                raise self.fail(f"unescaped {char!r}")
            raw.extend(char.encode("utf-8"))
            trailing_spaces = trailing_spaces + 1 if char == " " else 0
            self.pos += 1
        if trailing_spaces:
            del raw[-trailing_spaces:]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("escaped bytes are not UTF-8") from None

    def escape(self) -> bytes:
        self.pos += 1
        if self.pos >= len(self.text):
            raise self.fail("dangling backslash")
        char = self.text[self.pos]
        if char in _HEX and self.pos + 1 < len(self.text) and self.text[self.pos + 1] in _HEX:
            self.pos += 2
            return bytes.fromhex(self.text[self.pos - 2 : self.pos])
        if char in _SPECIAL or char in " #=":
            self.pos += 1
            return char.encode()
        raise self.fail(f"invalid escape '\\{char}'")
