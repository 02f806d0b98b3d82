"""The RFC 4515 string form of search filters: parsing it into `Filter` values and writing it back.

Text filters come from people (the CLI, tests, configuration), never from the wire, so a bad one
is a `FilterSyntaxError` naming the position and the reason, not an LDAP result code.
"""

from __future__ import annotations

import re

from ixidir.directory.filter import (
    And,
    Approx,
    Equality,
    Extensible,
    Filter,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
)

# A filter typed or configured by a person is a few hundred characters; a generated OR over a
# few thousand uids stays well below this. Longer text is refused before any parsing work.
MAX_FILTER_LENGTH = 256 * 1024
# Nesting of `&`, `|` and `!`; real filters nest a handful of levels. The bound keeps the
# recursive parser (and every recursive walk over the result) far from Python's recursion limit.
MAX_FILTER_DEPTH = 64

# RFC 4512 §2.5: attributedescription = attributetype options; oid = descr / numericoid.
_OID = r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)"
_ATTR_DESCRIPTION = re.compile(_OID + r"(?:;[A-Za-z0-9-]+)*")
_MATCHING_RULE = re.compile(_OID)
_DN_FLAG = re.compile(r":dn(?=:)", re.IGNORECASE)
_HEX = "0123456789abcdefABCDEF"
# RFC 4515 §3: these must be escaped in a value. `\` followed by one of them unescaped is the
# RFC 2254 form, still written by old tools; we accept it when reading and never write it.
_SPECIAL = "\0()*\\"


class FilterSyntaxError(ValueError):
    """A filter string that RFC 4515 does not allow; `position` is a 0-based character index."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"invalid filter at position {position}: {reason}")
        self.text = text
        self.position = position
        self.reason = reason


def parse_filter(text: str) -> Filter:
    """Parse RFC 4515 text; a bare item (`cn=alice`) needs no parentheses, as in ldapsearch.

    `(&)` and `(|)` are the absolute true and false filters of RFC 4526.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(text, MAX_FILTER_LENGTH, "filter too long")
    return _Parser(text).parse()


class _Parser:
    """Recursive descent over the RFC 4515 grammar, one character position at a time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str, position: int | None = None) -> FilterSyntaxError:
        return FilterSyntaxError(self.text, self.pos if position is None else position, reason)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "end of filter"
            raise self.fail(f"expected {char!r}, found {found}")
        self.pos += 1

    def parse(self) -> Filter:
        end = len(self.text.rstrip())
        self.pos = len(self.text) - len(self.text.lstrip())
        if self.pos >= end:
            raise self.fail("empty filter")
        self.text = self.text[:end]
        result = self.filter(0) if self.peek() == "(" else self.component(0)
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the filter")
        return result

    def filter(self, depth: int) -> Filter:
        self.expect("(")
        result = self.component(depth)
        self.expect(")")
        return result

    def component(self, depth: int) -> Filter:
        char = self.peek()
        if char in ("&", "|", "!"):
            if depth >= MAX_FILTER_DEPTH:
                raise self.fail(f"filter nested deeper than {MAX_FILTER_DEPTH} levels")
            self.pos += 1
            if char == "!":
                return Not(self.filter(depth + 1))
            children: list[Filter] = []
            while self.peek() == "(":
                children.append(self.filter(depth + 1))
            return And(tuple(children)) if char == "&" else Or(tuple(children))
        return self.item()

    def item(self) -> Filter:
        if self.peek() == ":":
            return self.extensible(None)
        match = _ATTR_DESCRIPTION.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected an attribute description")
        attr = match.group()
        self.pos = match.end()
        operator = self.text[self.pos : self.pos + 2]
        if operator.startswith(":"):
            return self.extensible(attr)
        if operator in ("~=", ">=", "<="):
            self.pos += 2
            value = self.value()
            if operator == "~=":
                return Approx(attr, value)
            return GreaterOrEqual(attr, value) if operator == ">=" else LessOrEqual(attr, value)
        self.expect("=")
        return self.equality_like(attr)

    def equality_like(self, attr: str) -> Filter:
        """`=` introduces equality, presence (`=*`) or substrings (any unescaped `*`)."""
        pieces = [self.value()]
        stars: list[int] = []
        while self.peek() == "*":
            stars.append(self.pos)
            self.pos += 1
            pieces.append(self.value())
        if not stars:
            return Equality(attr, pieces[0])
        if pieces == [b"", b""]:
            return Present(attr)
        for star, piece in zip(stars, pieces[1:-1], strict=False):
            if not piece:
                raise self.fail("empty substring between two '*'", star + 1)
        return Substrings(attr, pieces[0] or None, tuple(pieces[1:-1]), pieces[-1] or None)

    def extensible(self, attr: str | None) -> Filter:
        """RFC 4515: `attr [":dn"] [":" rule] ":=" value` or `[":dn"] ":" rule ":=" value`."""
        start = self.pos
        dn_attributes = False
        match = _DN_FLAG.match(self.text, self.pos)
        if match is not None:
            dn_attributes = True
            self.pos = match.end()
        rule: str | None = None
        if not self.text.startswith(":=", self.pos):
            self.expect(":")
            match = _MATCHING_RULE.match(self.text, self.pos)
            if match is None:
                raise self.fail("expected a matching rule")
            rule = match.group()
            self.pos = match.end()
        if not self.text.startswith(":=", self.pos):
            raise self.fail("expected ':='")
        self.pos += 2
        if rule is None and attr is None:
            raise self.fail("extensible match needs an attribute or a matching rule", start)
        return Extensible(rule, attr, self.value(), dn_attributes)

    def value(self) -> bytes:
        """An assertion value up to the next unescaped `*` or `)`; RFC 4515 §3 `valueencoding`."""
        out = bytearray()
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in "*)":
                break
            if char == "\\":
                out += self.escape()
                continue
            if char in "\0(":
                raise self.fail(f"{char!r} must be escaped in a value")
            try:
                out += char.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail("character is not valid Unicode") from None
            self.pos += 1
        return bytes(out)

    def escape(self) -> bytes:
        pair = self.text[self.pos + 1 : self.pos + 3]
        if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
            self.pos += 3
            return bytes.fromhex(pair)
        if pair[:1] and pair[0] in _SPECIAL:  # RFC 2254 style `\*`
            self.pos += 2
            return pair[0].encode()
        raise self.fail("'\\' must be followed by two hex digits")


def format_filter(f: Filter) -> str:
    """Write the RFC 4515 form; `parse_filter(format_filter(f)) == f` for every filter it accepts.

    Raises `ValueError` for filters the string form cannot express exactly (an empty substring,
    a substrings filter with no parts, an attribute description outside RFC 4512, ...).
    """
    match f:
        case And(filters):
            return "(&" + "".join(format_filter(child) for child in filters) + ")"
        case Or(filters):
            return "(|" + "".join(format_filter(child) for child in filters) + ")"
        case Not(inner):
            return "(!" + format_filter(inner) + ")"
        case Equality(attr, value):
            return f"({_attr(attr)}={escape_value(value)})"
        case Approx(attr, value):
            return f"({_attr(attr)}~={escape_value(value)})"
        case GreaterOrEqual(attr, value):
            return f"({_attr(attr)}>={escape_value(value)})"
        case LessOrEqual(attr, value):
            return f"({_attr(attr)}<={escape_value(value)})"
        case Present(attr):
            return f"({_attr(attr)}=*)"
        case Substrings():
            return _format_substrings(f)
        case Extensible():
            return _format_extensible(f)


def _attr(attr: str) -> str:
    if _ATTR_DESCRIPTION.fullmatch(attr) is None:
        raise ValueError(f"not an RFC 4512 attribute description: {attr!r}")
    return attr


def _format_substrings(f: Substrings) -> str:
    if f.initial == b"" or f.final == b"" or b"" in f.any:
        raise ValueError("a substrings filter cannot hold an empty substring")
    if f.initial is None and not f.any and f.final is None:
        raise ValueError("a substrings filter needs at least one substring")
    parts = [escape_value(f.initial or b"")]
    parts.extend(escape_value(piece) for piece in f.any)
    parts.append(escape_value(f.final or b""))
    return f"({_attr(f.attr)}=" + "*".join(parts) + ")"


def _format_extensible(f: Extensible) -> str:
    if f.attr is None and f.rule is None:
        raise ValueError("an extensible filter needs an attribute or a matching rule")
    out = "(" + (_attr(f.attr) if f.attr is not None else "")
    if f.dn_attributes:
        out += ":dn"
    if f.rule is not None:
        # `(cn:dn:=x)` carries the dn flag, so a rule called "dn" needs the flag to be unambiguous.
        is_ambiguous = f.rule.lower() == "dn" and not f.dn_attributes
        if _MATCHING_RULE.fullmatch(f.rule) is None or is_ambiguous:
            raise ValueError(f"not a matching rule name the string form can carry: {f.rule!r}")
        out += ":" + f.rule
    return out + ":=" + escape_value(f.value) + ")"


def escape_value(value: bytes) -> str:
    """RFC 4515 §3 escaping: specials, controls and bytes that are not UTF-8 become `\\XX`."""
    out: list[str] = []
    for char in value.decode("utf-8", errors="surrogateescape"):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not part of valid UTF-8
            out.append(f"\\{code - 0xDC00:02x}")
        elif char in _SPECIAL or code < 0x20 or code == 0x7F:
            out.append(f"\\{code:02x}")
        else:
            out.append(char)
    return "".join(out)
