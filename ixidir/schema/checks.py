"""Entry checks against the schema (RFC 4512 §2.4, §2.5, §2.3): classes, MUST/MAY, values.

Duplicate values under the equality rule are attributeOrValueExists (20), as OpenLDAP answers
("value #1 provided more than once") and as RFC 4511 §4.6 uses for a modify adding an existing
value; the same entry image is checked for add and modify, so both report the same code.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ixidir.dn import DN
from ixidir.errors import (
    AttributeOrValueExists,
    ConstraintViolation,
    InvalidAttributeSyntax,
    InvalidDNSyntax,
    NamingViolation,
    ObjectClassViolation,
)
from ixidir.schema.ixi import check_ixi_rules
from ixidir.schema.model import AttributeType, MatchingRule, ObjectClass, quote_value

if TYPE_CHECKING:
    from ixidir.schema.schema import Schema

_EXTENSIBLE = "extensibleObject"


def entry_classes(schema: Schema, values: Sequence[bytes]) -> list[ObjectClass]:
    """The object classes named by objectClass values, plus all their superclasses."""
    if not values:
        raise ObjectClassViolation("objectClass: entry has no objectClass attribute")
    named = [schema.object_class(v.decode("utf-8", "replace")) for v in values]
    closure = {sup for oc in named for sup in oc.superclasses}
    return [schema.object_class(name) for name in sorted(closure)]


def structural_class(classes: Sequence[ObjectClass]) -> ObjectClass:
    """RFC 4512 §2.4.2: exactly one structural superclass chain; returns its most specific class."""
    structural = [oc for oc in classes if oc.kind == "STRUCTURAL"]
    if not structural:
        raise ObjectClassViolation("objectClass: no structural object class provided")
    leaves = [
        oc for oc in structural if not any(o is not oc and o.is_subclass_of(oc) for o in structural)
    ]
    if len(leaves) > 1:
        names = " and ".join(sorted(oc.name for oc in leaves))
        raise ObjectClassViolation(f"objectClass: invalid structural object class chain ({names})")
    return leaves[0]


@dataclass(frozen=True, slots=True)
class ClassShape:
    """What an entry's objectClass values decide: its classes, structural class, MUST
    (sorted) and MUST + MAY. Entries share a few combinations, so the schema keeps them."""

    classes: tuple[ObjectClass, ...]
    structural: ObjectClass
    required: tuple[str, ...]
    allowed: frozenset[str]
    is_extensible: bool


def class_shape(schema: Schema, values: Sequence[bytes]) -> ClassShape:
    """The shape of these objectClass values; ObjectClassViolation when they name none or an
    unknown class, or no single structural chain."""
    classes = entry_classes(schema, values)
    structural = structural_class(classes)
    required = frozenset().union(*(oc.all_must for oc in classes))
    return ClassShape(
        classes=tuple(classes),
        structural=structural,
        required=tuple(sorted(required)),
        allowed=required.union(*(oc.all_may for oc in classes)),
        is_extensible=any(oc.name == _EXTENSIBLE for oc in classes),
    )


def check_entry(
    schema: Schema,
    attributes: Mapping[str, Sequence[bytes]],
    *,
    stored: Mapping[str, Sequence[bytes]] | None = None,
) -> ObjectClass:
    """Validate an entry; keys are primary attribute names. Returns the structural class.

    `stored`: the entry before a modify. Values of an attribute that the modify left as they
    were passed these checks when they were stored, so only the object classes' rules are
    applied to them: a one-attribute modify of a user spent a third of its loop time
    validating every other value again (syntaxes, timestamps, duplicates)."""
    shape = schema.class_shape(attributes.get("objectClass") or ())
    for name in shape.required:
        if not attributes.get(name):
            owner = next(oc.name for oc in shape.classes if name in oc.all_must)
            raise ObjectClassViolation(f"object class '{owner}' requires attribute '{name}'")
    allowed, is_extensible = shape.allowed, shape.is_extensible
    for name, values in attributes.items():
        at = schema.attribute(name)
        if not (at.is_operational or is_extensible or at.name in allowed):
            raise ObjectClassViolation(f"attribute '{at.name}' not allowed by the object classes")
        if stored is not None and _unchanged(values, stored.get(name)):
            continue
        check_values(at, values)
    check_ixi_rules(attributes)
    return shape.structural


def _unchanged(values: Sequence[bytes], before: Sequence[bytes] | None) -> bool:
    return before is not None and tuple(values) == tuple(before)


def check_values(at: AttributeType, values: Sequence[bytes]) -> None:
    """Count, syntax and uniqueness of one attribute's values (also for modify)."""
    if not values:
        raise ConstraintViolation(f"{at.name}: no values")
    if at.single_value and len(values) > 1:
        raise ConstraintViolation(f"{at.name}: multiple values provided for a single-valued type")
    seen: set[Hashable] = set()
    for value in values:
        at.validate(value)
        key = at.equality.normalize(value) if at.equality is not None else value
        if key in seen:
            raise AttributeOrValueExists(
                f"{at.name}: value {quote_value(value)} provided more than once"
            )
        seen.add(key)


def check_rdn(schema: Schema, dn: DN, attributes: Mapping[str, Sequence[bytes]]) -> None:
    """RFC 4512 §2.3: each AVA of the RDN is a value of the entry, under an equality rule."""
    for ava in dn.rdn.avas:
        at = schema.find_attribute(ava.attr)
        if at is None:
            raise InvalidDNSyntax(f"invalid DN: attribute type {ava.attr!r} undefined")
        if at.equality is None:
            raise NamingViolation(f"{at.name}: naming attribute has no equality matching rule")
        wanted = schema.normalize_ava_value(at, ava.value)
        rule = at.equality
        values = attributes.get(at.name) or ()
        if not any(_same(rule, value, wanted) for value in values):
            raise NamingViolation(f"value of naming attribute '{at.name}' is not present in entry")


def _same(rule: MatchingRule, value: bytes, wanted: Hashable) -> bool:
    try:
        return rule.normalize(value) == wanted
    except InvalidAttributeSyntax:
        return False
