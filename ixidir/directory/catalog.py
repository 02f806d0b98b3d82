"""What filters and attribute selections need from the schema beyond single look-ups:
subtypes, suitable matching rules, primary names, computed once per schema."""

from __future__ import annotations

from ixidir.schema import AttributeType, MatchingRule, Schema


class SchemaCatalog:
    """What filters need from the schema beyond single look-ups, computed once per schema."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        below: dict[str, list[str]] = {}
        for attr_type in schema.attribute_types.values():
            parent = attr_type.sup
            for _ in range(len(schema.attribute_types)):  # bounded walk up the SUP chain
                if parent is None:
                    break
                below.setdefault(parent, []).append(attr_type.name)
                parent = schema.attribute(parent).sup
        self._subtypes = {name: tuple(sorted(names)) for name, names in below.items()}
        self._users: dict[str, frozenset[str]] = {}
        self._primary: dict[str, str | None] = {}
        # class OID -> the OIDs of the class and of every class below it (RFC 4512 §2.4.1)
        classes = schema.object_classes.values()
        self._families = {
            oc.oid: frozenset(sub.oid for sub in classes if oc.name in sub.superclasses)
            for oc in classes
        }
        self.every_class = frozenset(self._families)
        top = schema.find_object_class("top")
        if top is not None:  # every entry is a top, whatever its classes say (subschema has no SUP)
            self._families[top.oid] = self.every_class
        # Per class: every name and OID of it and its subclasses as bytes, as entries store them.
        own = {oc.oid: frozenset(key.encode() for key in (oc.oid, *oc.names)) for oc in classes}
        self._spellings = {
            oid: frozenset().union(*(own[member] for member in family))
            for oid, family in self._families.items()
        }

    def resolve(self, description: str) -> AttributeType | None:
        """The type of an attribute description; None (Undefined) when unknown or with options.

        Entries hold no tagged values, so `cn;lang-de` names nothing we store; RFC 4512 §2.5.2
        treats an unrecognized option as an unrecognized description.
        """
        return None if ";" in description else self.schema.find_attribute(description)

    def subtypes(self, attr_type: AttributeType) -> tuple[str, ...]:
        """Primary names of the type and of every type below it (RFC 4512 §2.5.1)."""
        return (attr_type.name, *self._subtypes.get(attr_type.name, ()))

    def rule(self, name: str) -> MatchingRule | None:
        return self.schema.find_matching_rule(name)

    def is_suitable(self, rule: MatchingRule, attr_type: AttributeType) -> bool:
        """RFC 4511 §4.5.1.7.7 asks for a rule suitable for the type: one of its own rules, or
        one whose assertion syntax is the type's syntax (our stand-in for matchingRuleUse)."""
        own = (attr_type.equality, attr_type.ordering, attr_type.substr)
        return rule in own or rule.syntax == attr_type.syntax.oid

    def types_using(self, rule: MatchingRule) -> frozenset[str]:
        """Primary names of every type the rule suits (an extensible item without a type)."""
        found = self._users.get(rule.oid)
        if found is None:
            types = self.schema.attribute_types.values()
            found = frozenset(at.name for at in types if self.is_suitable(rule, at))
            self._users[rule.oid] = found
        return found

    def class_family(self, oid: str) -> frozenset[str] | None:
        """The OIDs of the object class `oid` and of all its subclasses; None for an unknown
        class. An entry belongs to a class when it lists the class or any subclass of it, stored
        superclasses or not (RFC 4512 §2.4.1, as slapd matches objectClass)."""
        return self._families.get(oid)

    def class_spellings(self, oid: str) -> frozenset[bytes]:
        """Every name and OID of the class and its subclasses, as bytes: a stored value among
        them matches without normalizing."""
        return self._spellings[oid]

    def primary_name(self, written: str) -> str | None:
        """The primary name of a type as written in a DN; remembered, DNs repeat few types."""
        if written not in self._primary:
            attr_type = self.schema.find_attribute(written)
            self._primary[written] = None if attr_type is None else attr_type.name
        return self._primary[written]
