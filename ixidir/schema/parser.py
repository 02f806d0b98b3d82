"""Parsing of OpenLDAP .schema files and RFC 4512 §4.1 definitions into raw (unresolved) records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

# RFC 4512 §4.1.2: the attribute usages; the last three make a type operational.
USAGES = frozenset(
    {"userApplications", "directoryOperation", "distributedOperation", "dSAOperation"}
)
KINDS = ("STRUCTURAL", "AUXILIARY", "ABSTRACT")
_FLAGS = frozenset({"OBSOLETE", "SINGLE-VALUE", "COLLECTIVE", "NO-USER-MODIFICATION", *KINDS})


class SchemaParseError(ValueError):
    """A schema file or description that cannot be read (a packaging bug, not a client error)."""


@dataclass(frozen=True, slots=True)
class AttributeTypeDef:
    """An attributetype exactly as written; `oid_text` keeps a macro form (`ixiAT:2.6`)."""

    oid: str
    oid_text: str
    names: tuple[str, ...]
    description: str = ""
    obsolete: bool = False
    sup: str | None = None
    equality: str | None = None
    ordering: str | None = None
    substr: str | None = None
    syntax: str | None = None
    syntax_len: int | None = None
    single_value: bool = False
    collective: bool = False
    no_user_modification: bool = False
    usage: str = "userApplications"


@dataclass(frozen=True, slots=True)
class ObjectClassDef:
    """An objectclass exactly as written."""

    oid: str
    oid_text: str
    names: tuple[str, ...]
    description: str = ""
    obsolete: bool = False
    sup: tuple[str, ...] = ()
    kind: str = "STRUCTURAL"
    must: tuple[str, ...] = ()
    may: tuple[str, ...] = ()


@dataclass(slots=True)
class SchemaFile:
    """Everything one .schema file defines, in file order."""

    macros: dict[str, str] = field(default_factory=dict)
    attribute_types: list[AttributeTypeDef] = field(default_factory=list)
    object_classes: list[ObjectClassDef] = field(default_factory=list)


def parse_schema_file(text: str, macros: dict[str, str] | None = None) -> SchemaFile:
    """Parse an OpenLDAP .schema file; `macros` are objectIdentifier macros of earlier files."""
    result = SchemaFile()
    known = dict(macros or {})
    for statement in _statements(text):
        keyword, _, rest = statement.replace("\t", " ").partition(" ")
        keyword = keyword.lower()
        if keyword == "objectidentifier":
            parts = rest.split()
            if len(parts) != 2:
                raise SchemaParseError(f"bad objectIdentifier line: {statement!r}")
            known[parts[0]] = expand_oid(parts[1], known)
            result.macros[parts[0]] = known[parts[0]]
        elif keyword == "attributetype":
            result.attribute_types.append(parse_attribute_type(rest, known))
        elif keyword == "objectclass":
            result.object_classes.append(parse_object_class(rest, known))
        else:
            raise SchemaParseError(f"unsupported schema statement {keyword!r}")
    return result


def _statements(text: str) -> Iterator[str]:
    """Join continuation lines (leading whitespace) and drop comment lines (slapd.conf rules)."""
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0] in " \t":
            current.append(line.strip())
            continue
        if current:
            yield " ".join(current)
        current = [line.strip()]
    if current:
        yield " ".join(current)


def expand_oid(text: str, macros: dict[str, str]) -> str:
    """Expand an OpenLDAP objectIdentifier macro (`ixiAT:2.6` -> `<oid of ixiAT>.2.6`)."""
    prefix, sep, suffix = text.partition(":")
    if prefix in macros:
        return macros[prefix] + ("." + suffix if sep else "")
    return text


def tokenize(text: str) -> list[str]:
    """Split an RFC 4512 description into `(`, `)`, `$`, quoted strings (kept quoted) and words."""
    tokens: list[str] = []
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        if char in " \t\r\n":
            pos += 1
        elif char in "()$":
            tokens.append(char)
            pos += 1
        elif char == "'":
            close = text.find("'", pos + 1)
            if close < 0:
                raise SchemaParseError(f"unterminated quoted string in {text!r}")
            tokens.append(text[pos : close + 1])
            pos = close + 1
        else:
            start = pos
            while pos < end and text[pos] not in " \t\r\n()$'":
                pos += 1
            tokens.append(text[start:pos])
    return tokens


def _unquote(token: str) -> str:
    if len(token) < 2 or token[0] != "'" or token[-1] != "'":
        raise SchemaParseError(f"expected a quoted string, got {token!r}")
    # RFC 4512 §4.1 qdstring: \27 is a quote and \5C a backslash.
    return token[1:-1].replace("\\27", "'").replace("\\5C", "\\").replace("\\5c", "\\")


class _Cursor:
    """Walks the tokens of one description."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def next(self) -> str:
        if self.pos >= len(self.tokens):
            raise SchemaParseError(f"unexpected end of description {self.text!r}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def group(self) -> list[str]:
        """One item or a parenthesized list (items separated by `$` or spaces)."""
        first = self.next()
        if first != "(":
            return [first]
        items: list[str] = []
        while (item := self.next()) != ")":
            if item != "$":
                items.append(item)
        return items


def parse_description(text: str, macros: dict[str, str]) -> tuple[str, str, dict[str, list[str]]]:
    """Parse `( oid KEYWORD value ... )` into (oid, oid as written, keyword -> values)."""
    cursor = _Cursor(text)
    if cursor.next() != "(":
        raise SchemaParseError(f"description must start with '(': {text!r}")
    oid_text = cursor.next()
    fields: dict[str, list[str]] = {}
    while (keyword := cursor.next()) != ")":
        keyword = keyword.upper()
        if keyword in _FLAGS:
            fields[keyword] = []
        elif keyword in ("NAME", "DESC") or keyword.startswith("X-"):
            fields[keyword] = [_unquote(t) for t in cursor.group()]
        else:
            fields[keyword] = cursor.group()
    if cursor.peek() is not None:
        raise SchemaParseError(f"text after the closing parenthesis in {text!r}")
    return expand_oid(oid_text, macros), oid_text, fields


def _one(fields: dict[str, list[str]], key: str) -> str | None:
    values = fields.get(key)
    return values[0] if values else None


def _syntax(text: str | None, macros: dict[str, str]) -> tuple[str | None, int | None]:
    """`1.3.6.1.4.1.1466.115.121.1.15{32768}` -> (oid, 32768); RFC 4512 noidlen."""
    if text is None:
        return None, None
    oid, _, length = text.partition("{")
    bound = int(length.rstrip("}")) if length else None
    return expand_oid(oid, macros), bound


def parse_attribute_type(text: str, macros: dict[str, str] | None = None) -> AttributeTypeDef:
    """Parse an RFC 4512 AttributeTypeDescription (also the OpenLDAP .schema form)."""
    oid, oid_text, fields = parse_description(text, macros or {})
    syntax, syntax_len = _syntax(_one(fields, "SYNTAX"), macros or {})
    usage = _one(fields, "USAGE") or "userApplications"
    if usage not in USAGES:
        raise SchemaParseError(f"attribute type {oid}: unknown USAGE {usage!r}")
    return AttributeTypeDef(
        oid=oid,
        oid_text=oid_text,
        names=tuple(fields.get("NAME", ())),
        description=_one(fields, "DESC") or "",
        obsolete="OBSOLETE" in fields,
        sup=_one(fields, "SUP"),
        equality=_one(fields, "EQUALITY"),
        ordering=_one(fields, "ORDERING"),
        substr=_one(fields, "SUBSTR"),
        syntax=syntax,
        syntax_len=syntax_len,
        single_value="SINGLE-VALUE" in fields,
        collective="COLLECTIVE" in fields,
        no_user_modification="NO-USER-MODIFICATION" in fields,
        usage=usage,
    )


def parse_object_class(text: str, macros: dict[str, str] | None = None) -> ObjectClassDef:
    """Parse an RFC 4512 ObjectClassDescription; the kind defaults to STRUCTURAL (§4.1.1)."""
    oid, oid_text, fields = parse_description(text, macros or {})
    kinds = [kind for kind in KINDS if kind in fields]
    if len(kinds) > 1:
        raise SchemaParseError(f"object class {oid}: more than one kind {kinds}")
    return ObjectClassDef(
        oid=oid,
        oid_text=oid_text,
        names=tuple(fields.get("NAME", ())),
        description=_one(fields, "DESC") or "",
        obsolete="OBSOLETE" in fields,
        sup=tuple(fields.get("SUP", ())),
        kind=kinds[0] if kinds else "STRUCTURAL",
        must=tuple(fields.get("MUST", ())),
        may=tuple(fields.get("MAY", ())),
    )
