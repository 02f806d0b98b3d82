"""Attribute selection: `@objectClass` lists (RFC 4529), which the root DSE advertises."""

from __future__ import annotations

from directory.tree import ADMIN, ALICE
from ixidir.directory.catalog import SchemaCatalog
from ixidir.directory.directory import Directory
from ixidir.directory.ops.selection import parse_selection
from ixidir.directory.requests import Modification, ModifyRequest, ModOp, Scope, SearchRequest
from ixidir.schema import load_default_schema


def returned(directory: Directory, *attributes: str) -> set[str]:
    (entry,) = directory.search(ADMIN, SearchRequest(ALICE, Scope.BASE, attributes=attributes))
    return {name for name, _ in entry.attributes}


def test_at_class_returns_what_the_class_and_its_superclasses_allow(
    directory: Directory,
) -> None:
    """alice lists only inetOrgPerson; @person still names cn, sn, userPassword and
    telephoneNumber (person's) and objectClass (top's MUST); @inetOrgPerson adds mail, uid."""
    assert returned(directory, "@person") == {
        "objectClass",
        "cn",
        "sn",
        "userPassword",
        "telephoneNumber",
    }
    assert returned(directory, "@inetOrgPerson") == {
        "objectClass", "cn", "sn", "userPassword", "telephoneNumber", "mail", "uid"
    }  # fmt: skip
    assert returned(directory, "@INETORGPERSON", "+") >= {"mail", "entryUUID"}
    assert returned(directory, "@noSuchClass") == set()


def test_at_auxiliary_class_returns_its_attributes(directory: Directory) -> None:
    changes = (
        Modification(ModOp.ADD, "objectClass", (b"ixiUmsUser",)),
        Modification(ModOp.ADD, "ixiFaxMaxPages", (b"5",)),
    )
    directory.modify(ADMIN, ModifyRequest(ALICE, changes))
    assert returned(directory, "@ixiUmsUser") == {"objectClass", "ixiFaxMaxPages"}


def test_at_class_selects_subtypes_as_a_listed_name_does() -> None:
    catalog = SchemaCatalog(load_default_schema())
    selection = parse_selection(catalog, ["@person"])
    assert {"cn", "sn", "telephoneNumber", "seeAlso", "description"} <= selection.names
    assert not selection.all_user
