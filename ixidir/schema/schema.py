"""The Schema: look-ups by name or OID, DN normalization (dn_key) and entry checks.

Default content: system.schema (what slapd defines in C), OpenLDAP's core, cosine and
inetorgperson, and ixi.schema (SCHEMA.md), which also redefines facsimileTelephoneNumber.
The `cn=ums-defaults,<base>` entry uses objectClass `applicationProcess` (structural, MUST cn)
plus the auxiliary `ixiUmsServerDefaults`. Users carry `company`/`department` through the
auxiliary class `ixiOrgPerson` (ixiUmsUser keeps exactly the SCHEMA.md MAY list).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from types import MappingProxyType

from ixidir.dn import AVA, DN, RDN, escape_value
from ixidir.errors import (
    InvalidAttributeSyntax,
    InvalidDNSyntax,
    ObjectClassViolation,
    UndefinedAttributeType,
)
from ixidir.schema import checks, export, subschema
from ixidir.schema.loader import Definitions, resolve_attribute_types, resolve_object_classes
from ixidir.schema.matching import build_matching_rules
from ixidir.schema.model import AttributeType, MatchingRule, ObjectClass, Syntax
from ixidir.schema.syntaxes import build_syntaxes

# Bound on the per-schema RDN normalization cache; cleared wholesale when full (cheap, rare).
_RDN_CACHE_SIZE = 65536
# Bound on the remembered objectClass value combinations (Schema.class_shape).
_SHAPE_CACHE_SIZE = 1024
# RFC 4514 §2.4 BER string types whose `#hex` form we can decode to a plain value.
_BER_STRING_TAGS = frozenset({0x04, 0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1E})


class Schema:
    """A resolved, immutable schema; every method is safe to call concurrently."""

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.syntaxes: Mapping[str, Syntax] = MappingProxyType(build_syntaxes())
        rules = build_matching_rules(self)
        self.matching_rules: Mapping[str, MatchingRule] = MappingProxyType(
            {rule.name: rule for rule in rules}
        )
        self._rules = {key.lower(): r for r in rules for key in (r.oid, r.name)}
        types = resolve_attribute_types(
            definitions.attribute_types.values(), self.syntaxes, self._rules
        )
        self._attributes = {key.lower(): at for at in types for key in (at.oid, *at.names)}
        self.attribute_types: Mapping[str, AttributeType] = MappingProxyType(
            {at.name: at for at in types}
        )
        classes = resolve_object_classes(definitions.object_classes.values(), self.attribute)
        self._classes = {key.lower(): oc for oc in classes for key in (oc.oid, *oc.names)}
        self.object_classes: Mapping[str, ObjectClass] = MappingProxyType(
            {oc.name: oc for oc in classes}
        )
        self._rdn_cache: dict[RDN, str] = {}
        self._shapes: dict[tuple[bytes, ...], checks.ClassShape] = {}

    # --- look-ups ---
    def find_attribute(self, name: str) -> AttributeType | None:
        """Any NAME alias or OID, case-insensitive; options (`;binary`, `;lang-de`) stripped."""
        found = self._attributes.get(name.lower())
        if found is None and ";" in name:
            found = self._attributes.get(name.partition(";")[0].lower())
        return found

    def attribute(self, name: str) -> AttributeType:
        found = self.find_attribute(name)
        if found is None:
            raise UndefinedAttributeType(f"{name}: attribute type undefined")
        return found

    def find_object_class(self, name: str) -> ObjectClass | None:
        return self._classes.get(name.strip().lower())

    def object_class(self, name: str) -> ObjectClass:
        found = self.find_object_class(name)
        if found is None:
            raise ObjectClassViolation(f"objectClass: value {name!r} is not a known object class")
        return found

    def find_matching_rule(self, name: str) -> MatchingRule | None:
        return self._rules.get(name.lower())

    def enum_tokens(self, attr: str) -> frozenset[str] | None:
        """The allowed (lowercase) tokens of an ixi enumeration attribute, else None."""
        found = self.find_attribute(attr)
        return found.tokens if found is not None else None

    def resolve_oid(self, name: str) -> str | None:
        """The numeric OID of an object class, attribute type, matching rule or syntax."""
        key = name.lower()
        for table in (self._classes, self._attributes, self._rules):
            found = table.get(key)
            if found is not None:
                return found.oid
        return key if key in self.syntaxes else None

    # --- distinguished names ---
    def dn_key(self, dn: DN) -> str:
        """The normalized DN (RFC 4517 distinguishedNameMatch) used as comparison/dict key."""
        cache = self._rdn_cache
        parts = []
        for rdn in dn.rdns:
            key = cache.get(rdn)
            if key is None:
                key = self._rdn_key(rdn)
                if len(cache) >= _RDN_CACHE_SIZE:
                    cache.clear()
                cache[rdn] = key
            parts.append(key)
        return ",".join(parts)

    @staticmethod
    def parent_key(dn_key: str) -> str:
        """The key of the superior DN, cut from a dn_key ("" for a naming context).

        Equal to dn_key(dn.parent): keys join RDN keys with "," and escape every "," and
        "\\" inside a value with a backslash (RFC 4514 §2.4), so the first bare "," ends the
        first RDN. Cutting is ~40x cheaper than parsing the DN again at start-up.
        """
        if "\\" not in dn_key:
            return dn_key.partition(",")[2]
        position = 0
        while position < len(dn_key):
            char = dn_key[position]
            if char == "\\":
                position += 2
                continue
            if char == ",":
                return dn_key[position + 1 :]
            position += 1
        return ""

    def dn_key_text(self, text: str) -> str:
        """dn_key of a DN string (used by distinguishedNameMatch)."""
        return self.dn_key(DN.parse(text))

    def rdn_key(self, rdn: RDN) -> str:
        """The normalized form of one RDN (multi-AVA RDNs sorted)."""
        return self.dn_key(DN((rdn,)))

    def _rdn_key(self, rdn: RDN) -> str:
        keys = sorted(self._ava_key(ava) for ava in rdn.avas)
        return "+".join(keys)

    def _ava_key(self, ava: AVA) -> str:
        at = self.find_attribute(ava.attr)
        if at is None:
            # OpenLDAP answers invalidDNSyntax (34) for an undefined type inside a DN.
            raise InvalidDNSyntax(f"invalid DN: attribute type {ava.attr!r} undefined")
        normal = self.normalize_ava_value(at, ava.value)
        if isinstance(normal, bytes):
            text = "#" + normal.hex()
        else:
            text = normal if isinstance(normal, str) else str(normal)
        return f"{at.name.lower()}={escape_value(text)}"

    def normalize_ava_value(self, at: AttributeType, value: str) -> Hashable:
        """The equality normal form of an RDN value (RFC 4514 `#hex` BER strings decoded)."""
        raw = ava_value_bytes(value)
        rule = at.equality
        if rule is None:
            return raw.decode("utf-8", "surrogateescape")
        try:
            return rule.normalize(raw)
        except InvalidAttributeSyntax:
            raise InvalidDNSyntax(f"invalid DN: bad {at.name} value {value!r}") from None

    # --- entry checks ---
    def check_entry(
        self,
        attributes: Mapping[str, Sequence[bytes]],
        *,
        stored: Mapping[str, Sequence[bytes]] | None = None,
    ) -> ObjectClass:
        """Validate a whole entry against the schema; returns its structural object class.
        `stored`: the entry as it is stored (checks.check_entry)."""
        return checks.check_entry(self, attributes, stored=stored)

    def class_shape(self, values: Sequence[bytes]) -> checks.ClassShape:
        """What these objectClass values decide (checks.class_shape), remembered per spelling
        (a few spellings at most; an unknown or broken set raises each time)."""
        key = tuple(values)
        shape = self._shapes.get(key)
        if shape is None:
            shape = checks.class_shape(self, values)
            if len(self._shapes) >= _SHAPE_CACHE_SIZE:
                self._shapes.clear()
            self._shapes[key] = shape
        return shape

    def check_rdn(self, dn: DN, attributes: Mapping[str, Sequence[bytes]]) -> None:
        """Every AVA of the RDN must be a value of the entry (RFC 4512 §2.3)."""
        checks.check_rdn(self, dn, attributes)

    # --- rendering ---
    def subschema_attributes(self) -> dict[str, list[bytes]]:
        """The RFC 4512 §4.2 subschema subentry attributes, rendered."""
        return subschema.subschema_attributes(self)

    def export_openldap_schema(self) -> str:
        """The ixi schema as an OpenLDAP .schema file."""
        return export.export_openldap_schema(self)

    def export_cn_config_ldif(self) -> str:
        """The ixi schema as a cn=config LDIF entry."""
        return export.export_cn_config_ldif(self)


def ava_value_bytes(value: str) -> bytes:
    """An AVA value as bytes; a `#hex` BER string of a string type yields its contents."""
    if not value.startswith("#"):
        return value.encode("utf-8")
    # ixidir.dn keeps both a `#hex` value and an escaped leading `\#` as text starting with
    # `#`; only well-formed hex is taken as BER (an escaped `#0c00`-like text is ambiguous).
    try:
        ber = bytes.fromhex(value[1:])
    except ValueError:
        return value.encode("utf-8")
    if len(ber) < 2:
        return value.encode("utf-8")
    # Short-form length only (< 128 octets) is decoded; anything else stays as raw octets.
    if len(ber) >= 2 and ber[0] in _BER_STRING_TAGS and ber[1] == len(ber) - 2:
        return ber[2:]
    return ber
