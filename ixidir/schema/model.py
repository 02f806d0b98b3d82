"""The resolved schema elements: syntaxes, matching rules, attribute types and object classes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from ixidir.errors import ConstraintViolation, InvalidAttributeSyntax
from ixidir.schema.parser import AttributeTypeDef, ObjectClassDef

# Longest value quoted back in an error message.
_MAX_QUOTED = 64


def quote_value(value: bytes) -> str:
    """A short printable rendering of a value for diagnostic messages."""
    text = value[:_MAX_QUOTED].decode("utf-8", "backslashreplace")
    return repr(text + ("..." if len(value) > _MAX_QUOTED else ""))


@dataclass(frozen=True, slots=True)
class Syntax:
    """An LDAP syntax (RFC 4517 §3): `check` says whether a value conforms."""

    oid: str
    description: str
    check: Callable[[bytes], bool] = field(compare=False, repr=False)
    human_readable: bool = True


@dataclass(frozen=True, slots=True)
class MatchingRule:
    """An equality, ordering or substrings rule (RFC 4517 §4).

    `prepare` maps a value to its normal form; it raises ValueError (or UnicodeError) for a value
    it cannot normalize, which `normalize` turns into InvalidAttributeSyntax so a filter can
    evaluate to Undefined.
    """

    oid: str
    name: str
    syntax: str
    kind: str  # 'equality' | 'ordering' | 'substr'
    prepare: Callable[[bytes], Hashable] = field(compare=False, repr=False)
    # Substring pieces, when they need more than `prepare` (RFC 4518 §2.6.1 edge spaces).
    prepare_piece: Callable[[bytes, str], str] | None = field(
        default=None, compare=False, repr=False
    )

    def normalize(self, value: bytes) -> Hashable:
        """The normal form used to compare stored and asserted values."""
        try:
            return self.prepare(value)
        except (ValueError, UnicodeError):
            raise InvalidAttributeSyntax(
                f"{self.name}: cannot normalize value {quote_value(value)}"
            ) from None

    def match_substrings(
        self, value: bytes, initial: bytes | None, any_: Sequence[bytes], final: bytes | None
    ) -> bool:
        """RFC 4511 §4.5.1.7.2 substring match with the rule's preparation of every piece."""
        text = self._text(value, "value")
        pos = 0
        if initial is not None:
            piece = self._text(initial, "initial")
            if not text.startswith(piece):
                return False
            pos = len(piece)
        end = len(text)
        if final is not None:
            piece = self._text(final, "final")
            if not text.endswith(piece) or end - len(piece) < pos:
                return False
            end -= len(piece)
        for raw in any_:
            piece = self._text(raw, "any")
            found = text.find(piece, pos, end)
            if found < 0:
                return False
            pos = found + len(piece)
        return True

    def _text(self, value: bytes, role: str) -> str:
        """Prepare a value or a piece to str; `role` is 'value', 'initial', 'any' or 'final'."""
        if role != "value" and self.prepare_piece is not None:
            try:
                return self.prepare_piece(value, role)
            except (ValueError, UnicodeError):
                raise InvalidAttributeSyntax(
                    f"{self.name}: cannot normalize assertion {quote_value(value)}"
                ) from None
        prepared = self.normalize(value)
        if not isinstance(prepared, str):
            raise InvalidAttributeSyntax(f"{self.name} does not support substring matching")
        return prepared


@dataclass(frozen=True, slots=True)
class AttributeType:
    """An attribute type with SUP inheritance resolved (RFC 4512 §2.5)."""

    oid: str
    names: tuple[str, ...]
    syntax: Syntax
    equality: MatchingRule | None
    ordering: MatchingRule | None
    substr: MatchingRule | None
    single_value: bool
    no_user_modification: bool
    usage: str
    description: str
    sup: str | None
    obsolete: bool
    collective: bool
    syntax_len: int | None
    source: AttributeTypeDef = field(compare=False, repr=False)
    # ixi enumeration tokens (lowercase) and INTEGER bounds; None when unconstrained.
    tokens: frozenset[str] | None = None
    int_range: tuple[int | None, int | None] | None = None

    @property
    def name(self) -> str:
        """The primary name (first NAME), else the OID."""
        return self.names[0] if self.names else self.oid

    @property
    def is_operational(self) -> bool:
        return self.usage != "userApplications"

    def validate(self, value: bytes) -> None:
        """Raise InvalidAttributeSyntax (ConstraintViolation for an ixi range), naming the value."""
        if not self.syntax.check(value):
            raise InvalidAttributeSyntax(
                f"{self.name}: value {quote_value(value)} invalid per syntax "
                f"{self.syntax.description} ({self.syntax.oid})"
            )
        if self.tokens is not None and value.decode("ascii").lower() not in self.tokens:
            allowed = ", ".join(sorted(self.tokens))
            raise InvalidAttributeSyntax(
                f"{self.name}: value {quote_value(value)} is not one of: {allowed}"
            )
        if self.int_range is not None:
            low, high = self.int_range
            number = int(value)
            if (low is not None and number < low) or (high is not None and number > high):
                raise ConstraintViolation(
                    f"{self.name}: value {number} out of range "
                    f"{'' if low is None else low}..{'' if high is None else high}"
                )


@dataclass(frozen=True, slots=True)
class ObjectClass:
    """An object class; `must`/`may` are its own primary names, `all_*` add superclasses."""

    oid: str
    names: tuple[str, ...]
    kind: str
    sup: tuple[str, ...]
    must: frozenset[str]
    may: frozenset[str]
    description: str
    obsolete: bool
    source: ObjectClassDef = field(compare=False, repr=False)
    # Filled by the loader: primary names of this class and all its superclasses.
    superclasses: frozenset[str] = frozenset()
    all_must: frozenset[str] = frozenset()
    all_may: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.names[0] if self.names else self.oid

    def is_subclass_of(self, other: ObjectClass) -> bool:
        """True for the class itself and for any ancestor."""
        return other.name in self.superclasses
