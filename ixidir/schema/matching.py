"""Matching rules (RFC 4517 §4.2, RFC 4530): one normalizer per rule, built against a resolver.

Equality and ordering rules share one normal form per value; ordering rules return values that
are totally ordered among values of the rule (int, datetime, str, bytes). Approximate matching
(`~=`) is not a separate rule here: the directory evaluates it as the attribute's equality rule.
Rules we do not implement in depth (protocolInformationMatch, presentationAddressMatch,
certificateExactMatch, ...) fall back to octet equality.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import Protocol

from ixidir.errors import LDAPError
from ixidir.schema import stringprep, syntaxes
from ixidir.schema.model import MatchingRule
from ixidir.schema.timeparse import parse_generalized_time

_S = "1.3.6.1.4.1.1466.115.121.1."
_SUBSTRING_ASSERTION = _S + "58"


class Resolver(Protocol):
    """What schema-aware rules need from the schema they belong to."""

    def resolve_oid(self, name: str) -> str | None:
        """The OID of a schema element named `name` (any case), else None."""
        ...

    def dn_key_text(self, text: str) -> str:
        """The normalized form of a DN string (raises an LDAPError when invalid)."""
        ...


def _octets(value: bytes) -> bytes:
    return bytes(value)


def _integer(value: bytes) -> int:
    if not syntaxes.integer(value):
        raise ValueError("not an INTEGER")
    return int(value)


def _boolean(value: bytes) -> bool:
    if not syntaxes.boolean(value):
        raise ValueError("not TRUE or FALSE")
    return value == b"TRUE"


def _uuid(value: bytes) -> str:
    if not syntaxes.uuid(value):
        raise ValueError("not a UUID")
    return value.decode("ascii").lower()


def _bit_string(value: bytes) -> str:
    if not syntaxes.bit_string(value):
        raise ValueError("not a bit string")
    return value.decode("ascii")


def _postal_lines(value: bytes) -> str:
    """caseIgnoreListMatch (RFC 4517 §4.2.9): each `$`-separated line as caseIgnoreMatch."""
    lines = value.split(b"$")
    prepared = [stringprep.prepare_string(line, fold=True) for line in lines]
    return "$".join(prepared)


def _postal_piece(value: bytes, role: str) -> str:
    return stringprep.prepare_piece(value, role, fold=True)


def _first_component(value: bytes) -> str:
    """`( 2.5.4.3 NAME ... )` -> `2.5.4.3`; a bare OID stays as it is (RFC 4517 §4.2.26)."""
    text = value.decode("utf-8").strip()
    if text.startswith("("):
        parts = text[1:].split()
        if not parts:
            raise ValueError("empty description")
        return parts[0]
    return text


class _SchemaAware:
    """Normalizers that need the schema: OIDs (names and numbers compare equal) and DNs."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def oid(self, value: bytes) -> str:
        text = value.decode("ascii").strip()
        resolved = self.resolver.resolve_oid(text)
        if resolved is not None:
            return resolved
        if not syntaxes.oid(text.encode()):
            raise ValueError("not an OID")
        return text.lower()

    def first_component_oid(self, value: bytes) -> str:
        return self.oid(_first_component(value).encode())

    def dn(self, value: bytes) -> str:
        try:
            return self.resolver.dn_key_text(value.decode("utf-8"))
        except LDAPError as err:
            raise ValueError(err.message) from None

    def unique_member(self, value: bytes) -> tuple[str, str]:
        """uniqueMemberMatch (RFC 4517 §4.2.31): DN plus an optional `#'0101'B` UID."""
        head, sep, tail = value.rpartition(b"#")
        if sep and syntaxes.bit_string(tail):
            return self.dn(head), tail.decode("ascii")
        return self.dn(value), ""


_Prep = Callable[[bytes], Hashable]
_Piece = Callable[[bytes, str], str]


def _table(aware: _SchemaAware) -> list[tuple[str, str, str, str, _Prep, _Piece | None]]:
    ci, ce = (
        partial(stringprep.prepare_string, fold=True),
        partial(stringprep.prepare_string, fold=False),
    )
    ci_piece = partial(stringprep.prepare_piece, fold=True)
    ce_piece = partial(stringprep.prepare_piece, fold=False)
    ia5i, ia5e = (
        partial(stringprep.prepare_ia5, fold=True),
        partial(stringprep.prepare_ia5, fold=False),
    )
    ia5i_piece = partial(stringprep.prepare_ia5_piece, fold=True)
    ia5e_piece = partial(stringprep.prepare_ia5_piece, fold=False)
    tel, num = stringprep.prepare_telephone, stringprep.prepare_numeric
    sub = _SUBSTRING_ASSERTION
    return [
        ("2.5.13.0", "objectIdentifierMatch", _S + "38", "equality", aware.oid, None),
        ("2.5.13.1", "distinguishedNameMatch", _S + "12", "equality", aware.dn, None),
        ("2.5.13.2", "caseIgnoreMatch", _S + "15", "equality", ci, None),
        ("2.5.13.3", "caseIgnoreOrderingMatch", _S + "15", "ordering", ci, None),
        ("2.5.13.4", "caseIgnoreSubstringsMatch", sub, "substr", ci, ci_piece),
        ("2.5.13.5", "caseExactMatch", _S + "15", "equality", ce, None),
        ("2.5.13.6", "caseExactOrderingMatch", _S + "15", "ordering", ce, None),
        ("2.5.13.7", "caseExactSubstringsMatch", sub, "substr", ce, ce_piece),
        ("2.5.13.8", "numericStringMatch", _S + "36", "equality", num, None),
        ("2.5.13.9", "numericStringOrderingMatch", _S + "36", "ordering", num, None),
        ("2.5.13.10", "numericStringSubstringsMatch", sub, "substr", num,
         stringprep.prepare_numeric_piece),
        ("2.5.13.11", "caseIgnoreListMatch", _S + "41", "equality", _postal_lines, None),
        ("2.5.13.12", "caseIgnoreListSubstringsMatch", sub, "substr", _postal_lines, _postal_piece),
        ("2.5.13.13", "booleanMatch", _S + "7", "equality", _boolean, None),
        ("2.5.13.14", "integerMatch", _S + "27", "equality", _integer, None),
        ("2.5.13.15", "integerOrderingMatch", _S + "27", "ordering", _integer, None),
        ("2.5.13.16", "bitStringMatch", _S + "6", "equality", _bit_string, None),
        ("2.5.13.17", "octetStringMatch", _S + "40", "equality", _octets, None),
        ("2.5.13.18", "octetStringOrderingMatch", _S + "40", "ordering", _octets, None),
        ("2.5.13.20", "telephoneNumberMatch", _S + "50", "equality", tel, None),
        ("2.5.13.21", "telephoneNumberSubstringsMatch", sub, "substr", tel,
         stringprep.prepare_telephone_piece),
        ("2.5.13.22", "presentationAddressMatch", _S + "43", "equality", _octets, None),
        ("2.5.13.23", "uniqueMemberMatch", _S + "34", "equality", aware.unique_member, None),
        ("2.5.13.24", "protocolInformationMatch", _S + "42", "equality", _octets, None),
        ("2.5.13.27", "generalizedTimeMatch", _S + "24", "equality", parse_generalized_time, None),
        ("2.5.13.28", "generalizedTimeOrderingMatch", _S + "24", "ordering",
         parse_generalized_time, None),
        ("2.5.13.29", "integerFirstComponentMatch", _S + "27", "equality",
         lambda v: _integer(_first_component(v).encode()), None),
        ("2.5.13.30", "objectIdentifierFirstComponentMatch", _S + "38", "equality",
         aware.first_component_oid, None),
        ("2.5.13.34", "certificateExactMatch", "1.3.6.1.1.15.1", "equality", _octets, None),
        ("1.3.6.1.4.1.1466.109.114.1", "caseExactIA5Match", _S + "26", "equality", ia5e, None),
        ("1.3.6.1.4.1.1466.109.114.2", "caseIgnoreIA5Match", _S + "26", "equality", ia5i, None),
        ("1.3.6.1.4.1.1466.109.114.3", "caseIgnoreIA5SubstringsMatch", sub, "substr", ia5i,
         ia5i_piece),
        ("1.3.6.1.4.1.4203.1.2.1", "caseExactIA5SubstringsMatch", sub, "substr", ia5e, ia5e_piece),
        ("1.3.6.1.1.16.2", "uuidMatch", "1.3.6.1.1.16.1", "equality", _uuid, None),
        ("1.3.6.1.1.16.3", "uuidOrderingMatch", "1.3.6.1.1.16.1", "ordering", _uuid, None),
    ]  # fmt: skip


def build_matching_rules(resolver: Resolver) -> list[MatchingRule]:
    """Every matching rule we implement, bound to `resolver` for the schema-aware ones."""
    aware = _SchemaAware(resolver)
    return [
        MatchingRule(oid, name, syntax, kind, prep, piece)
        for oid, name, syntax, kind, prep, piece in _table(aware)
    ]
