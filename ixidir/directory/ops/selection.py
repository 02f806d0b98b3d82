"""Search attribute selection (RFC 4511 §4.5.1.8, RFC 3673 `+`): which attributes an entry returns.

Names are resolved through the schema (any alias or OID, case-insensitive) and returned under the
schema's primary name, as OpenLDAP does; a type selects its subtypes too (`name` → cn, sn, ...);
unknown names are ignored (RFC 4511: "the server ... ignores" them). `@objectClass` (RFC 4529)
asks for every attribute the class and its superclasses allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ixidir.directory.catalog import SchemaCatalog

ALL_USER = "*"
ALL_OPERATIONAL = "+"
NO_ATTRIBUTES = "1.1"  # RFC 4511 §4.5.1.8: "no attributes"
CLASS_PREFIX = "@"  # RFC 4529: `@objectClass` names the attributes a class allows

Selected = tuple[tuple[str, tuple[bytes, ...]], ...]


@dataclass(frozen=True, slots=True)
class Selection:
    all_user: bool
    all_operational: bool
    names: frozenset[str]  # primary names asked for explicitly (with subtypes)

    def wants(self, name: str, *, is_operational: bool) -> bool:
        if name in self.names:
            return True
        return self.all_operational if is_operational else self.all_user


def parse_selection(catalog: SchemaCatalog, requested: Sequence[str]) -> Selection:
    """The request's attribute list as a Selection."""
    wanted = [name.strip() for name in requested]
    if not wanted:
        return Selection(all_user=True, all_operational=False, names=frozenset())
    names: set[str] = set()
    for text in wanted:
        if text in (ALL_USER, ALL_OPERATIONAL, NO_ATTRIBUTES):
            continue
        if text.startswith(CLASS_PREFIX):
            names.update(_allowed_by(catalog, text[len(CLASS_PREFIX) :]))
            continue
        found = catalog.schema.find_attribute(text)
        if found is not None:
            names.update(catalog.subtypes(found))
    return Selection(
        all_user=ALL_USER in wanted,
        all_operational=ALL_OPERATIONAL in wanted,
        names=frozenset(names),
    )


def _allowed_by(catalog: SchemaCatalog, class_name: str) -> set[str]:
    """RFC 4529: the MUST and MAY attributes of the class and its superclasses (with their
    subtypes, as when listed by name); nothing for an unknown class."""
    object_class = catalog.schema.find_object_class(class_name)
    if object_class is None:
        return set()
    schema = catalog.schema
    allowed = object_class.all_must | object_class.all_may
    return {name for attr in allowed for name in catalog.subtypes(schema.attribute(attr))}


def select(
    view: Mapping[str, Sequence[bytes]],
    selection: Selection,
    *,
    operational: frozenset[str],
    types_only: bool,
) -> Selected:
    """The (name, values) pairs the entry returns; values empty when typesOnly.

    `Selection.wants` inlined: this runs for every attribute of every entry a search returns.
    """
    names, all_user, all_operational = (
        selection.names,
        selection.all_user,
        selection.all_operational,
    )
    get = view.get
    out: list[tuple[str, tuple[bytes, ...]]] = []
    for name in view:
        if name in names or (all_operational if name in operational else all_user):
            values = get(name)
            if values:
                out.append((name, () if types_only else tuple(values)))
    return tuple(out)
