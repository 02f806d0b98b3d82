"""Loading the packaged schema files: counts, inheritance, overrides."""

from __future__ import annotations

import pytest

from ixidir.errors import ObjectClassViolation, UndefinedAttributeType
from ixidir.schema import Schema, load_default_schema
from ixidir.schema.loader import Definitions, read_packaged
from ixidir.schema.parser import SchemaParseError


def test_default_schema_is_cached() -> None:
    assert load_default_schema() is load_default_schema()


def test_default_schema_has_openldap_sized_content(schema: Schema) -> None:
    # slapd 2.5 with core+cosine+inetorgperson lists ~170 attribute types (+ built-ins).
    assert len(schema.attribute_types) > 150
    assert len(schema.object_classes) > 40


def test_inetorgperson_may_list_includes_superclass_attributes(schema: Schema) -> None:
    iop = schema.object_class("inetOrgPerson")
    assert iop.kind == "STRUCTURAL"
    assert {"mail", "mobile", "departmentNumber", "uid"} <= iop.may
    assert {"telephoneNumber", "facsimileTelephoneNumber", "street"} <= iop.all_may
    assert {"cn", "sn", "objectClass"} <= iop.all_must
    assert iop.superclasses == {"inetOrgPerson", "organizationalPerson", "person", "top"}


def test_attribute_lookup_by_alias_oid_case_and_options(schema: Schema) -> None:
    cn = schema.attribute("cn")
    assert schema.attribute("commonName") is cn
    assert schema.attribute("2.5.4.3") is cn
    assert schema.attribute("CN;lang-de") is cn
    assert schema.attribute("userCertificate;binary").name == "userCertificate"
    assert schema.find_attribute("noSuchThing") is None
    with pytest.raises(UndefinedAttributeType, match="noSuchThing"):
        schema.attribute("noSuchThing")


def test_sup_inherits_syntax_and_matching_rules(schema: Schema) -> None:
    cn = schema.attribute("cn")
    assert cn.sup == "name"
    assert cn.equality is not None
    assert cn.equality.name == "caseIgnoreMatch"
    assert cn.substr is not None
    assert cn.substr.name == "caseIgnoreSubstringsMatch"
    assert cn.syntax.oid == "1.3.6.1.4.1.1466.115.121.1.15"


def test_ixi_schema_overrides_core_fax_definition(schema: Schema) -> None:
    fax = schema.attribute("fax")
    assert fax.name == "facsimileTelephoneNumber"
    assert fax.equality is not None
    assert fax.equality.name == "telephoneNumberMatch"
    assert fax.substr is not None
    assert fax.substr.name == "telephoneNumberSubstringsMatch"
    assert fax.syntax.oid == "1.3.6.1.4.1.1466.115.121.1.22"


def test_unknown_object_class_is_object_class_violation(schema: Schema) -> None:
    with pytest.raises(ObjectClassViolation):
        schema.object_class("noSuchClass")
    assert schema.find_object_class("INETORGPERSON") is schema.object_class("inetOrgPerson")


def test_core_files_may_not_redefine_a_type() -> None:
    defs = Definitions()
    defs.add_file("core.schema", read_packaged("core.schema"), may_override=False)
    with pytest.raises(SchemaParseError, match="already defined"):
        defs.add_file("again", read_packaged("core.schema"), may_override=False)
