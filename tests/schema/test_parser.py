"""The .schema / RFC 4512 parser on small inputs and on the packaged files."""

from __future__ import annotations

import pytest

from ixidir.schema.loader import read_packaged
from ixidir.schema.parser import SchemaParseError, parse_attribute_type, parse_schema_file


def test_macros_names_lists_and_length_bounds() -> None:
    text = """# comment
objectIdentifier root 1.2.3
objectIdentifier rootAT root:1
attributetype ( rootAT:7 NAME ( 'a' 'alias' )
\tDESC 'x' X-ORIGIN 'ignored' EQUALITY caseIgnoreMatch
\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE )
objectclass\t( root:2.1 NAME 'c' SUP top AUXILIARY MAY ( a $ b ) MUST a )
"""
    parsed = parse_schema_file(text)
    at = parsed.attribute_types[0]
    assert (at.oid, at.oid_text, at.names) == ("1.2.3.1.7", "rootAT:7", ("a", "alias"))
    assert (at.syntax, at.syntax_len, at.single_value) == (
        "1.3.6.1.4.1.1466.115.121.1.15",
        64,
        True,
    )
    oc = parsed.object_classes[0]
    assert (oc.oid, oc.kind, oc.may, oc.must, oc.sup) == (
        "1.2.3.2.1",
        "AUXILIARY",
        ("a", "b"),
        ("a",),
        ("top",),
    )
    assert parsed.macros["rootAT"] == "1.2.3.1"


@pytest.mark.parametrize(
    "text",
    [
        "( 1.2.3 NAME 'x' USAGE nonsense )",
        "( 1.2.3 NAME 'x ) ",
        "1.2.3 NAME 'x'",
        "( 1.2.3 NAME 'x' ) trailing",
        "( 1.2.3 NAME 'x'",
    ],
)
def test_malformed_descriptions_are_refused(text: str) -> None:
    with pytest.raises(SchemaParseError):
        parse_attribute_type(text)


def test_unknown_statement_is_refused() -> None:
    with pytest.raises(SchemaParseError, match="ditcontentrule"):
        parse_schema_file("ditcontentrule ( 1.2 )\n")


@pytest.mark.parametrize(
    ("name", "types", "classes"),
    [("core.schema", 50, 27), ("cosine.schema", 40, 13), ("inetorgperson.schema", 9, 1)],
)
def test_packaged_openldap_files_parse(name: str, types: int, classes: int) -> None:
    parsed = parse_schema_file(read_packaged(name))
    assert len(parsed.attribute_types) >= types
    assert len(parsed.object_classes) == classes


def test_packaged_copies_keep_the_licence_header() -> None:
    assert "The OpenLDAP Foundation" in read_packaged("core.schema")
