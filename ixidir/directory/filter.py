"""Search filters as values (RFC 4511 §4.5.1.7), independent of any codec.

The server's codec reads filter PDUs into these (`ixidir.server.pdus`);
`ixidir.directory.filtertext` parses the RFC 4515 string form for the CLI and tests;
`ixidir.directory.evaluate` decides them per entry.
Attribute descriptions are kept as the client wrote them; the evaluator resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class And:
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    filter: Filter


@dataclass(frozen=True, slots=True)
class Equality:
    attr: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Substrings:
    attr: str
    initial: bytes | None
    any: tuple[bytes, ...]
    final: bytes | None


@dataclass(frozen=True, slots=True)
class GreaterOrEqual:
    attr: str
    value: bytes


@dataclass(frozen=True, slots=True)
class LessOrEqual:
    attr: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Present:
    attr: str


@dataclass(frozen=True, slots=True)
class Approx:
    attr: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Extensible:
    """`(attr:dn:rule:=value)`; at least one of `rule` and `attr` is set (RFC 4511)."""

    rule: str | None
    attr: str | None
    value: bytes
    dn_attributes: bool = False


Filter = (
    And
    | Or
    | Not
    | Equality
    | Substrings
    | GreaterOrEqual
    | LessOrEqual
    | Present
    | Approx
    | Extensible
)
