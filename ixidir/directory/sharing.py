"""One tuple object for the value lists that repeat across entries, to keep memory small.

Every user holds `objectClass: inetOrgPerson, ixiUmsUser`, the same `creatorsName`, a
`createTimestamp` shared with everyone its import wrote in the same second, and ixi settings
that are TRUE/FALSE or small integers. Held once per entry these were ~700 bytes of each
entry's ~2.2 KB at 100,000 users (`benchmarks/routing.py`, RSS per worker). Entries are
immutable and hold tuples, so equal tuples can be one object; the snapshot (marshal) keeps
that sharing, so a warm start has it too.
"""

from __future__ import annotations

from collections.abc import Mapping

from ixidir.schema import Schema

Values = tuple[bytes, ...]

# Attributes whose values repeat across entries by their nature, whatever their syntax.
REPEATING_ATTRIBUTES = frozenset(
    {
        "objectClass",
        "structuralObjectClass",
        "creatorsName",
        "modifiersName",
        "createTimestamp",
        "modifyTimestamp",
    }
)
# Syntaxes whose values come from a small set: Boolean, Integer, Generalized Time.
REPEATING_SYNTAXES = frozenset(
    {
        "1.3.6.1.4.1.1466.115.121.1.7",
        "1.3.6.1.4.1.1466.115.121.1.27",
        "1.3.6.1.4.1.1466.115.121.1.24",
    }
)
# Distinct tuples kept; past this, new ones are held by their entries alone (timestamps of
# entries written one by one over years need not all be remembered).
MAX_SHARED = 65_536


class SharedValues:
    """Hands out one tuple per distinct value list of the repeating attributes."""

    __slots__ = ("_names", "_shared")

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names
        self._shared: dict[Values, Values] = {}

    @classmethod
    def for_schema(cls, schema: Schema) -> SharedValues:
        names = {
            attr_type.name
            for attr_type in schema.attribute_types.values()
            if attr_type.syntax.oid in REPEATING_SYNTAXES
        }
        return cls(frozenset(names | REPEATING_ATTRIBUTES))

    def share_in_place(self, attributes: dict[str, Values]) -> dict[str, Values]:
        """Replace the repeating attributes' tuples by the shared ones; returns `attributes`."""
        shared = self._shared
        for name in self._names.intersection(attributes):
            values = attributes[name]
            found = shared.get(values)
            if found is None:
                if len(shared) < MAX_SHARED:
                    shared[values] = values
            elif found is not values:
                attributes[name] = found
        return attributes

    def shared_copy(self, attributes: Mapping[str, Values]) -> dict[str, Values]:
        """A new dict of `attributes` with the repeating attributes' tuples shared."""
        return self.share_in_place(dict(attributes))
