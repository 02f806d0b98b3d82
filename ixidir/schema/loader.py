"""Loading the packaged .schema files and resolving their references (SUP, syntaxes, rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources

from ixidir.schema import ixi
from ixidir.schema.model import AttributeType, MatchingRule, ObjectClass, Syntax
from ixidir.schema.parser import (
    AttributeTypeDef,
    ObjectClassDef,
    SchemaParseError,
    parse_schema_file,
)
from ixidir.schema.syntaxes import unknown_syntax

# Load order matters: later files refer to earlier types; only ixi.schema may redefine a type.
DEFAULT_FILES = ("system.schema", "core.schema", "cosine.schema", "inetorgperson.schema")
OVERRIDE_FILES = ("ixi.schema",)
# RFC 4517 §3.3.6 Directory String: the syntax a type gets when neither it nor a SUP names one.
_DIRECTORY_STRING = "1.3.6.1.4.1.1466.115.121.1.15"


@dataclass(slots=True)
class Definitions:
    """All raw definitions, keyed by OID, in load order; `origin` says which file won."""

    macros: dict[str, str] = field(default_factory=dict)
    attribute_types: dict[str, AttributeTypeDef] = field(default_factory=dict)
    object_classes: dict[str, ObjectClassDef] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def add_file(self, name: str, text: str, *, may_override: bool) -> None:
        parsed = parse_schema_file(text, self.macros)
        self.macros.update(parsed.macros)
        table: dict[str, AttributeTypeDef] | dict[str, ObjectClassDef]
        for table, items in (
            (self.attribute_types, parsed.attribute_types),
            (self.object_classes, parsed.object_classes),
        ):
            for item in items:
                if item.oid in table and not may_override:
                    raise SchemaParseError(f"{name}: {item.oid} already defined")
                table[item.oid] = item  # type: ignore[assignment]
                self.origin[item.oid] = name


def read_packaged(name: str) -> str:
    """The text of one packaged schema file (ixidir/schema/data/NAME)."""
    return resources.files("ixidir.schema").joinpath("data", name).read_text("utf-8")


def default_definitions() -> Definitions:
    defs = Definitions()
    for name in DEFAULT_FILES:
        defs.add_file(name, read_packaged(name), may_override=False)
    for name in OVERRIDE_FILES:
        defs.add_file(name, read_packaged(name), may_override=True)
    return defs


def _lookup(index: Mapping[str, AttributeTypeDef], ref: str, what: str) -> AttributeTypeDef:
    found = index.get(ref.lower())
    if found is None:
        raise SchemaParseError(f"{what} refers to unknown attribute type {ref!r}")
    return found


def resolve_attribute_types(
    defs: Iterable[AttributeTypeDef],
    syntaxes: Mapping[str, Syntax],
    rules: Mapping[str, MatchingRule],
) -> list[AttributeType]:
    """Resolve SUP chains: a subtype inherits syntax and matching rules it does not name."""
    by_key: dict[str, AttributeTypeDef] = {}
    for item in defs:
        for key in (item.oid, *item.names):
            by_key[key.lower()] = item

    def inherited(
        item: AttributeTypeDef, pick: Callable[[AttributeTypeDef], str | None]
    ) -> str | None:
        seen: set[str] = set()
        while pick(item) is None and item.sup is not None:
            if item.oid in seen:
                raise SchemaParseError(f"SUP cycle at {item.oid}")
            seen.add(item.oid)
            item = _lookup(by_key, item.sup, item.oid)
        return pick(item)

    def rule(name: str | None, owner: AttributeTypeDef) -> MatchingRule | None:
        if name is None:
            return None
        found = rules.get(name.lower())
        if found is None:
            raise SchemaParseError(f"{owner.oid}: unknown matching rule {name!r}")
        return found

    result: list[AttributeType] = []
    for item in {id(d): d for d in by_key.values()}.values():
        syntax_oid = inherited(item, lambda d: d.syntax) or _DIRECTORY_STRING
        result.append(
            AttributeType(
                oid=item.oid,
                names=item.names,
                syntax=syntaxes.get(syntax_oid) or unknown_syntax(syntax_oid),
                equality=rule(inherited(item, lambda d: d.equality), item),
                ordering=rule(inherited(item, lambda d: d.ordering), item),
                substr=rule(inherited(item, lambda d: d.substr), item),
                single_value=item.single_value,
                no_user_modification=item.no_user_modification,
                usage=item.usage,
                description=item.description,
                sup=_lookup(by_key, item.sup, item.oid).names[0] if item.sup else None,
                obsolete=item.obsolete,
                collective=item.collective,
                syntax_len=item.syntax_len,
                source=item,
            )
        )
    return [_with_ixi_constraints(at) for at in result]


def _with_ixi_constraints(at: AttributeType) -> AttributeType:
    tokens = ixi.ENUM_TOKENS.get(at.name)
    bounds = ixi.INTEGER_RANGES.get(at.name)
    if tokens is None and bounds is None:
        return at
    return replace(
        at,
        tokens=frozenset(t.lower() for t in tokens) if tokens is not None else None,
        int_range=bounds,
    )


def resolve_object_classes(
    defs: Iterable[ObjectClassDef], attribute: Callable[[str], AttributeType]
) -> list[ObjectClass]:
    """Resolve MUST/MAY to primary attribute names and compute superclass closures."""
    by_key: dict[str, ObjectClassDef] = {}
    for item in defs:
        for key in (item.oid, *item.names):
            by_key[key.lower()] = item
    done: dict[str, ObjectClass] = {}

    def resolve(item: ObjectClassDef, depth: int = 0) -> ObjectClass:
        if item.oid in done:
            return done[item.oid]
        if depth > len(by_key):
            raise SchemaParseError(f"SUP cycle at object class {item.oid}")
        parents = []
        for ref in item.sup:
            parent = by_key.get(ref.lower())
            if parent is None:
                raise SchemaParseError(f"{item.oid}: unknown superclass {ref!r}")
            parents.append(resolve(parent, depth + 1))
        must = frozenset(attribute(a).name for a in item.must)
        may = frozenset(attribute(a).name for a in item.may)
        name = item.names[0] if item.names else item.oid
        done[item.oid] = ObjectClass(
            oid=item.oid,
            names=item.names,
            kind=item.kind,
            sup=tuple(p.name for p in parents),
            must=must,
            may=may,
            description=item.description,
            obsolete=item.obsolete,
            source=item,
            superclasses=frozenset({name}).union(*(p.superclasses for p in parents)),
            all_must=must.union(*(p.all_must for p in parents)),
            all_may=may.union(*(p.all_may for p in parents)),
        )
        return done[item.oid]

    return [resolve(item) for item in {id(d): d for d in by_key.values()}.values()]
