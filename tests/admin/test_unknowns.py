"""Names our schema does not know: an import is refused, or drops them when told to."""

from __future__ import annotations

from ixidir.admin.legacy import Item
from ixidir.admin.unknowns import DropPolicy, refusal, sift, summary
from ixidir.directory.requests import AddRequest
from ixidir.ldif import parse_ldif
from ixidir.schema import load_default_schema

SCHEMA = load_default_schema()
TEXT = """\
dn: uid=akoch,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
cn: Anna Koch
sn: Koch
uidNumber: 1001
cn;lang-de: Anna

dn: uid=bweber,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: Bernd Weber
sn: Weber
uidNumber: 1002
"""


def items() -> list[Item]:
    made = []
    for record in parse_ldif(TEXT):
        grouped: dict[str, list[bytes]] = {}
        for name, value in record.attributes:
            grouped.setdefault(name, []).append(value)
        request = AddRequest(record.dn, tuple((k, tuple(v)) for k, v in grouped.items()))
        made.append(Item(request, record))
    return made


def test_unknown_attributes_classes_and_options_are_refused_each_once_where_first_seen() -> None:
    sifted = sift(items(), schema=SCHEMA, policy=DropPolicy())
    assert [(u.name, u.item.record.line) for u in sifted.refused] == [
        ("posixAccount", 1),
        ("uidNumber", 1),
        ("cn;lang-de", 1),
    ]
    text = refusal(sifted.refused, "old.ldif")
    assert (
        "old.ldif: line 1 (dn: uid=akoch,ou=people,dc=example,dc=com): attribute uidNumber" in text
    )
    assert "nothing was imported" in text
    assert "--drop-unknown-attribute uidNumber" in text
    assert "--drop-unknown-attribute 'cn;lang-de'" in text


def test_named_drops_are_counted_and_the_rest_still_refused() -> None:
    policy = DropPolicy.of(["UIDNUMBER", "cn;lang-de"])
    sifted = sift(items(), schema=SCHEMA, policy=policy)
    assert [u.name for u in sifted.refused] == ["posixAccount"]
    assert "dropped attribute uidNumber (not in our schema) from 2 entries" in summary(
        sifted.dropped
    )
    first = dict(sifted.items[0].request.attributes)
    assert "uidNumber" not in first
    assert "cn;lang-de" not in first


def test_drop_all_keeps_only_what_our_schema_knows() -> None:
    sifted = sift(items(), schema=SCHEMA, policy=DropPolicy(drop_all=True))
    assert sifted.refused == []
    first = dict(sifted.items[0].request.attributes)
    assert first["objectClass"] == (b"inetOrgPerson",)
    assert set(first) == {"objectClass", "cn", "sn"}
    assert summary(sifted.dropped) == [
        "dropped attribute cn;lang-de (attribute options are not supported) from 1 entry",
        "dropped attribute uidNumber (not in our schema) from 2 entries",
        "dropped object class posixAccount (not in our schema) from 1 entry",
    ]
