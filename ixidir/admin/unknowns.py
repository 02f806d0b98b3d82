"""What an import does with names our schema does not know: refuse the file, or drop them when
the administrator said so (`--drop-unknown [NAME]`, `--drop-unknown-attribute NAME`).

Attributes our schema does not define, object classes it does not define, and attribute options
(`cn;lang-de`: entries hold no tagged values) are a site's data: losing them must be someone's
decision. So an import that meets one is refused, naming the file, the line, the DN and the
name; with the option it goes ahead and says what it dropped, and from how many entries. The old
server's bookkeeping is not a site's data: `--rebase` drops it silently before this runs
(ixidir.admin.legacy).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ixidir.admin.legacy import Item
from ixidir.directory.requests import AddRequest
from ixidir.schema import Schema

OBJECT_CLASS = "objectclass"


@dataclass(frozen=True, slots=True)
class DropPolicy:
    """Which unknown names an import may drop: all of them, or those named (any case)."""

    drop_all: bool = False
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, names: Iterable[str], *, drop_all: bool = False) -> DropPolicy:
        return cls(drop_all, frozenset(name.lower() for name in names))

    def allows(self, name: str) -> bool:
        return self.drop_all or name.lower() in self.names


@dataclass(frozen=True, slots=True)
class Unknown:
    """The first place a name we do not know appears: its record and what it is."""

    item: Item
    name: str
    what: str  # "attribute uidNumber is not in our schema", ...


@dataclass(frozen=True, slots=True)
class Sifted:
    """The items without what was dropped, how many entries each dropped name came from, and
    the unknown names the policy does not allow (each once, where it first appears)."""

    items: list[Item]
    dropped: Counter[str]
    refused: list[Unknown]


def sift(items: Sequence[Item], *, schema: Schema, policy: DropPolicy) -> Sifted:
    """Drop what the policy allows; collect the rest, so one refusal names every unknown."""
    kept: list[Item] = []
    dropped: Counter[str] = Counter()
    refused: dict[str, Unknown] = {}
    schema_knows = _Known(schema)
    for item in items:
        if all(schema_knows.holds(name, values) for name, values in item.request.attributes):
            kept.append(item)  # the common case: nothing unknown, the item as it is
            continue
        attributes: list[tuple[str, tuple[bytes, ...]]] = []
        for name, values in item.request.attributes:
            unknowns = list(_unknowns(schema, name, values))
            for found, what in unknowns:
                if policy.allows(found):
                    dropped[what] += 1
                else:
                    refused.setdefault(found.lower(), Unknown(item, found, what))
            if not unknowns:
                attributes.append((name, values))
            elif name.lower() == OBJECT_CLASS:
                names = {found.lower() for found, _ in unknowns}
                known = tuple(v for v in values if _text(v).lower() not in names)
                attributes.append((name, known))
        kept.append(Item(AddRequest(item.request.dn, tuple(attributes)), item.record))
    return Sifted(kept, dropped, list(refused.values()))


class _Known:
    """What the schema knows, remembered per spelling: files repeat a few attribute names and
    object classes in every record (20,000 records: 0.9 of 1.4 s went to asking again)."""

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self._names: dict[str, str] = {}  # "plain", "classes" (objectClass) or "unknown"
        self._classes: dict[bytes, bool] = {}

    def holds(self, name: str, values: Sequence[bytes]) -> bool:
        """Whether `_unknowns` finds nothing in this attribute."""
        kind = self._names.get(name)
        if kind is None:
            at = None if ";" in name else self._schema.find_attribute(name)
            kind = "unknown" if at is None else "plain"
            if at is not None and at.name.lower() == OBJECT_CLASS:
                kind = "classes"
            self._names[name] = kind
        if kind == "classes":
            return all(self._is_class(value) for value in values)
        return kind == "plain"

    def _is_class(self, value: bytes) -> bool:
        found = self._classes.get(value)
        if found is None:
            found = self._schema.find_object_class(_text(value)) is not None
            self._classes[value] = found
        return found


def _unknowns(schema: Schema, name: str, values: Sequence[bytes]) -> Iterable[tuple[str, str]]:
    """(name, description) of each unknown thing in one attribute of a record."""
    base = name.split(";", 1)[0]
    at = schema.find_attribute(base)
    if at is None:
        yield name, f"attribute {name} (not in our schema)"
    elif ";" in name:
        yield name, f"attribute {name} (attribute options are not supported)"
    elif at.name.lower() == OBJECT_CLASS:
        for value in values:
            text = _text(value)
            if schema.find_object_class(text) is None:
                yield text, f"object class {text} (not in our schema)"


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace").strip()


def refusal(refused: Sequence[Unknown], source: str, text: Sequence[str] = ()) -> str:
    """Every unknown name with its line and DN, and how to import anyway. `text` is the file's
    lines: the line named is then the name's own, else its record's first."""
    lines = [
        f"{source}: line {_line_of(u, text)} (dn: {u.item.record.dn}): {u.what}" for u in refused
    ]
    names = " ".join(f"--drop-unknown-attribute {_quoted(u.name)}" for u in refused)
    return "\n".join(
        [
            *lines,
            "nothing was imported: our schema cannot hold these, and dropping a site's data "
            "is for you to decide;",
            f"to import without them, add {names} (or --drop-unknown for all)",
        ]
    )


def _line_of(unknown: Unknown, text: Sequence[str]) -> int:
    """The first line of the record that starts with the name (an attribute) or holds it as
    an objectClass value (a class written in plain text)."""
    start = unknown.item.record.line
    name = unknown.name.lower()
    for number in range(start, len(text) + 1):
        line = text[number - 1].lower()
        if not line.strip():
            break
        attr, _, value = line.partition(":")
        if attr == name or (attr == OBJECT_CLASS and value.strip() == name):
            return number
    return start


def _quoted(name: str) -> str:
    return f"'{name}'" if ";" in name else name


def summary(dropped: Counter[str]) -> list[str]:
    """One line per dropped name: what it was and from how many entries."""
    return [
        f"dropped {what} from {count} {'entry' if count == 1 else 'entries'}"
        for what, count in sorted(dropped.items())
    ]
