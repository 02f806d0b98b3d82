"""RFC 2849 LDIF: a streaming parser for content and change records, and a deterministic writer."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TextIO

from ixidir.dn import DN
from ixidir.errors import InvalidDNSyntax

# RFC 4512 §2.5 attribute description: a descr or numericoid, then ";option"s.
_ATTR_DESC = re.compile(r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*")
# RFC 2849 control: ldap-oid, optional criticality, optional value-spec.
_CONTROL = re.compile(r" *([0-9]+(?:\.[0-9]+)+)(?: +(true|false))? *(:.*)?", re.IGNORECASE)
# Attribute descriptions already found valid: a file repeats a few in every record.
_VALID_DESCRIPTIONS: set[str] = set()
_MAX_VALID_DESCRIPTIONS = 4096
# Bytes written as plain text by format_value (is_safe_string): printable ASCII, no controls.
_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")
_CHANGETYPES = ("add", "delete", "modify", "modrdn", "moddn")
# RFC 2849 mod-spec operations, plus RFC 4525 `increment`.
_MOD_OPS = ("add", "delete", "replace", "increment")
DEFAULT_WRAP = 76  # RFC 2849 note 2: lines SHOULD NOT exceed 76 columns (folding keeps them below)


class LdifError(ValueError):
    """Broken LDIF; the message names the source, the line and, when known, the DN."""

    def __init__(self, reason: str, *, line: int, dn: str | None = None, source: str = "<input>"):
        where = f"line {line}" if dn is None else f"line {line} (dn: {dn})"
        prefix = "" if source == "<input>" else f"{source}: "
        super().__init__(f"{prefix}{where}: {reason}")
        self.reason = reason
        self.line = line
        self.dn = dn
        self.source = source


class Modification(NamedTuple):
    """One RFC 2849 mod-spec of a `changetype: modify` record."""

    op: str
    attr: str
    values: list[bytes]


@dataclass(frozen=True, slots=True)
class ModRdn:
    """The body of a `changetype: modrdn` (or `moddn`) record."""

    newrdn: str
    deleteoldrdn: bool
    newsuperior: str | None


@dataclass(frozen=True, slots=True)
class Control:
    """An RFC 2849 `control:` line of a change record."""

    oid: str
    critical: bool
    value: bytes | None


@dataclass(frozen=True, slots=True)
class LdifRecord:
    """One record: a content record (`changetype` None) or a change record.

    `attributes` holds the content of content and `add` records in file order, as written;
    `changes` holds the mod-specs of `modify` and the body of `modrdn`/`moddn` records.
    """

    dn: str
    line: int
    attributes: list[tuple[str, bytes]] = field(default_factory=list)
    changetype: str | None = None
    changes: list[Modification] | ModRdn | None = None
    controls: tuple[Control, ...] = ()


class _Line(NamedTuple):
    """A logical (unfolded) line: its first physical line number and its text (a tuple: one
    per line of the file, made ~2x faster than a frozen dataclass)."""

    number: int
    text: str


def parse_ldif(
    stream: Iterable[str] | TextIO | str, *, source: str = "<input>"
) -> Iterator[LdifRecord]:
    """Yield the records of an LDIF text one by one, so an import never holds the whole file."""
    first = True
    for group in _record_groups(_physical_lines(stream), source):
        if first and group[0].text[:8].lower() == "version:":
            _check_version(group[0], source)
            group = group[1:]
        first = False
        if group:
            yield _RecordParser(group, source).parse()


def _physical_lines(stream: Iterable[str] | TextIO | str) -> Iterator[str]:
    """Split into lines without their end of line; chunks need not end at line boundaries."""
    chunks: Iterable[str] = (stream,) if isinstance(stream, str) else stream
    pending = ""
    for index, chunk in enumerate(chunks):
        # The first chunk may open with a byte-order mark that some editors write.
        parts = (pending + (chunk.removeprefix("\ufeff") if index == 0 else chunk)).split("\n")
        pending = parts.pop()
        for part in parts:
            yield part.removesuffix("\r")  # RFC 2849 SEP is CRLF or LF
    if pending:
        yield pending.removesuffix("\r")


def _record_groups(lines: Iterator[str], source: str) -> Iterator[list[_Line]]:
    """Unfold lines, drop comments, group the rest into records at blank lines (RFC 2849)."""
    group: list[_Line] = []
    current: _Line | None = None
    for number, text in enumerate(lines, start=1):
        if text.startswith(" "):
            if current is None:
                raise LdifError(
                    "continuation line (starts with a space) follows no line",
                    line=number,
                    source=source,
                )
            current = _Line(current.number, current.text + text[1:])
            continue
        if current is not None and not current.text.startswith("#"):
            group.append(current)
        current = None if text == "" else _Line(number, text)
        if text == "" and group:
            yield group
            group = []
    if current is not None and not current.text.startswith("#"):
        group.append(current)
    if group:
        yield group


def _check_version(line: _Line, source: str) -> None:
    if line.text[8:].strip() != "1":
        raise LdifError(
            f"unsupported LDIF version {line.text[8:].strip()!r} (only 1 exists)",
            line=line.number,
            source=source,
        )


class _RecordParser:
    """Turns the logical lines of one record into an `LdifRecord`."""

    def __init__(self, lines: list[_Line], source: str) -> None:
        self.lines = lines
        self.source = source
        self.pos = 0
        self.dn: str | None = None

    def fail(self, reason: str, line: _Line | None = None) -> LdifError:
        number = (line or self.lines[min(self.pos, len(self.lines) - 1)]).number
        return LdifError(reason, line=number, dn=self.dn, source=self.source)

    def next_line(self) -> tuple[_Line, str, bytes] | None:
        """The next line as (line, attribute description, value), or None at the end."""
        if self.pos >= len(self.lines):
            return None
        line = self.lines[self.pos]
        self.pos += 1
        attr, value = self.split(line)
        return line, attr, value

    def split(self, line: _Line) -> tuple[str, bytes]:
        """Split `attr: value`, `attr:: base64` or `attr:< url` (RFC 2849 attrval-spec)."""
        attr, colon, rest = line.text.partition(":")
        if not colon:
            raise self.fail(
                f"expected 'attribute: value', found no colon in {_excerpt(line.text)}", line
            )
        if attr not in _VALID_DESCRIPTIONS:
            if not _ATTR_DESC.fullmatch(attr):
                raise self.fail(f"invalid attribute description {attr!r}", line)
            if len(_VALID_DESCRIPTIONS) < _MAX_VALID_DESCRIPTIONS:
                _VALID_DESCRIPTIONS.add(attr)
        kind = rest[:1]
        if kind == ":":
            try:
                return attr, base64.b64decode(rest[1:].strip(" "), validate=True)
            except binascii.Error:
                raise self.fail(f"invalid base64 value for {attr!r}", line) from None
        if kind == "<":
            raise self.fail(
                f"{attr!r} refers to the URL {rest[1:].strip()!r}; ixidir does not fetch URLs,"
                f" write the value inline (base64 with '{attr}::' for binary data)",
                line,
            )
        try:  # RFC 2849 wants ASCII here; like OpenLDAP we also accept UTF-8 text
            return attr, rest.strip(" ").encode("utf-8")
        except UnicodeEncodeError:
            raise self.fail(f"value of {attr!r} is not valid text", line) from None

    def expect(self, keyword: str) -> tuple[_Line, bytes]:
        found = self.next_line()
        if found is None or found[1].lower() != keyword:
            raise self.fail(f"expected '{keyword}:'", found[0] if found else None)
        return found[0], found[2]

    def text(self, line: _Line, attr: str, value: bytes) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{attr!r} is not UTF-8", line) from None

    def checked_dn(self, line: _Line, attr: str, value: bytes) -> str:
        text = self.text(line, attr, value)
        try:
            DN.parse(text)
        except InvalidDNSyntax as err:
            raise self.fail(f"invalid DN in {attr!r}: {err.message}", line) from None
        return text

    def parse(self) -> LdifRecord:
        first = self.lines[0]
        if first.text.partition(":")[0].lower() != "dn":
            raise self.fail(
                f"expected 'dn:' to start the record, found {_excerpt(first.text)}", first
            )
        line, value = self.expect("dn")
        self.dn = self.checked_dn(line, "dn", value)
        controls = self.controls()
        if self.pos < len(self.lines) and self.lines[self.pos].text[:11].lower() == "changetype:":
            line, value = self.expect("changetype")
            return self.change(first, self.text(line, "changetype", value).lower(), line, controls)
        if controls:
            raise self.fail(
                "'control:' is only allowed in change records", self.lines[self.pos - 1]
            )
        return LdifRecord(self.dn, first.number, self.attributes())

    def controls(self) -> tuple[Control, ...]:
        found: list[Control] = []
        while self.pos < len(self.lines) and self.lines[self.pos].text[:8].lower() == "control:":
            line = self.lines[self.pos]
            self.pos += 1
            match = _CONTROL.fullmatch(line.text[8:])
            if match is None:
                raise self.fail(f"invalid control {_excerpt(line.text)}", line)
            oid, critical, spec = match.groups()
            value = None if spec is None else self.split(_Line(line.number, "control" + spec))[1]
            found.append(Control(oid, (critical or "").lower() == "true", value))
        return tuple(found)

    def attributes(self) -> list[tuple[str, bytes]]:
        found: list[tuple[str, bytes]] = []
        lines, split = self.lines, self.split
        while self.pos < len(lines):  # next_line's loop, inlined: it runs for every line
            line = lines[self.pos]
            self.pos += 1
            attr, value = split(line)
            if attr.lower() == "dn":
                raise self.fail(
                    "a second 'dn:' in one record (records are separated by a blank line)", line
                )
            found.append((attr, value))
        return found

    def change(
        self, first: _Line, kind: str, line: _Line, controls: tuple[Control, ...]
    ) -> LdifRecord:
        dn = self.dn or ""
        if kind not in _CHANGETYPES:
            raise self.fail(
                f"unknown changetype {kind!r} (expected one of {', '.join(_CHANGETYPES)})", line
            )
        if kind == "add":
            return LdifRecord(dn, first.number, self.attributes(), kind, None, controls)
        changes: list[Modification] | ModRdn | None = None
        if kind == "modify":
            changes = self.modifications()
        elif kind in ("modrdn", "moddn"):
            changes = self.modrdn()
        if self.pos < len(self.lines):
            raise self.fail(
                f"unexpected line in a '{kind}' record: {_excerpt(self.lines[self.pos].text)}"
            )
        return LdifRecord(dn, first.number, [], kind, changes, controls)

    def modrdn(self) -> ModRdn:
        line, value = self.expect("newrdn")
        newrdn = self.checked_dn(line, "newrdn", value)
        if len(DN.parse(newrdn).rdns) != 1:
            raise self.fail("'newrdn' must be exactly one RDN", line)
        line, value = self.expect("deleteoldrdn")
        if value not in (b"0", b"1"):
            raise self.fail("'deleteoldrdn' must be 0 or 1", line)
        newsuperior = None
        if self.pos < len(self.lines):
            sup_line, sup_value = self.expect("newsuperior")
            newsuperior = self.checked_dn(sup_line, "newsuperior", sup_value)
        return ModRdn(newrdn, value == b"1", newsuperior)

    def modifications(self) -> list[Modification]:
        mods: list[Modification] = []
        while self.pos < len(self.lines):
            head = self.next_line()
            if head is None:
                break
            line, op, attr_bytes = head
            attr = attr_bytes.decode("utf-8", "replace")
            if op.lower() not in _MOD_OPS or not _ATTR_DESC.fullmatch(attr):
                raise self.fail(
                    "expected 'add:', 'delete:', 'replace:' or 'increment:' with an attribute,"
                    f" found {_excerpt(line.text)}",
                    line,
                )
            mods.append(Modification(op.lower(), attr, self.mod_values(attr)))
        return mods

    def mod_values(self, attr: str) -> list[bytes]:
        """The values of one mod-spec up to its `-` line (RFC 2849; a missing last `-` is fine)."""
        values: list[bytes] = []
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            self.pos += 1
            if line.text.rstrip(" ") == "-":
                return values
            name, value = self.split(line)
            if name.lower() != attr.lower():
                raise self.fail(
                    f"value for {name!r} inside the mod-spec of {attr!r} (missing '-'?)", line
                )
            values.append(value)
        return values


def write_ldif(
    records: Iterable[tuple[str, Sequence[tuple[str, Sequence[bytes]]]]],
    out: TextIO,
    *,
    wrap: int = DEFAULT_WRAP,
) -> None:
    """Write content records after a `version: 1` header; the same input gives the same text."""
    out.write("version: 1\n")
    for dn, attributes in records:
        out.write("\n")
        out.write(format_record(dn, attributes, wrap=wrap))


def format_record(
    dn: str, attributes: Sequence[tuple[str, Sequence[bytes]]], *, wrap: int = DEFAULT_WRAP
) -> str:
    """One content record, every line folded to at most `wrap` columns, ending in a newline."""
    if wrap < 2:
        raise ValueError(f"wrap must be at least 2 columns, not {wrap}")
    lines = [_fold(_attrval("dn", dn.encode("utf-8")), wrap)]
    for attr, values in attributes:
        if not _ATTR_DESC.fullmatch(attr):
            raise ValueError(f"invalid attribute description {attr!r}")
        lines.extend(_fold(_attrval(attr, value), wrap) for value in values)
    return "".join(lines)


def format_value(attr: str, value: bytes, *, wrap: int = DEFAULT_WRAP) -> str:
    """One `attr: value` line (base64 when unsafe), folded to `wrap` columns, with its newline."""
    return _fold(_attrval(attr, value), wrap)


def is_safe_string(value: bytes) -> bool:
    """Whether `value` may be written as plain text rather than base64.

    Stricter than RFC 2849 SAFE-STRING: besides NUL, CR, LF, non-ASCII, a leading space, colon or
    '<' and a trailing space (RFC 2849 note 8), we also encode control characters, so the text
    survives tools that split lines on more than LF.
    """
    if not value:
        return True
    if value[0] in b" :<" or value[-1] == 0x20:
        return False
    return _PRINTABLE_ASCII.fullmatch(value) is not None


def _attrval(attr: str, value: bytes) -> str:
    if not is_safe_string(value):
        return f"{attr}:: {base64.b64encode(value).decode('ascii')}"
    return f"{attr}: {value.decode('ascii')}" if value else f"{attr}:"


def _fold(line: str, wrap: int) -> str:
    """RFC 2849 folding: continuation lines start with one space, which the reader removes."""
    if len(line) <= wrap:
        return line + "\n"
    parts = [line[:wrap]]
    parts.extend(" " + line[i : i + wrap - 1] for i in range(wrap, len(line), wrap - 1))
    return "\n".join(parts) + "\n"


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
