"""Writes against a real `ixidir serve` through `ldapadd`, `ldapmodify`, `ldapdelete`,
`ldapmodrdn` and `ldapcompare` (RFC 4511 §4.6-4.10); each result is read back over LDAP.

Every test works on entries it creates under its own uid, so tests may run in any order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ldap3 import BASE, Connection, Server

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, RunningServer

PEOPLE = f"ou=people,{BASE_DN}"

Attributes = dict[str, list[str]]


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> Iterator[Connection]:
    """One admin connection for reading results back (one bind: binds cost a PBKDF2 check)."""
    connection = Connection(
        Server(server.host, port=server.port, get_info="NO_INFO"),
        ADMIN_DN,
        ADMIN_PASSWORD,
        auto_bind=True,
    )
    yield connection
    connection.unbind()


def read(admin: Connection, dn: str, *attributes: str) -> Attributes | None:
    """The entry's attributes (lower-case names, UTF-8 values), or None when it does not exist."""
    admin.search(dn, "(objectClass=*)", BASE, attributes=list(attributes) or ["*"])
    if admin.result["result"] == 32:
        return None
    assert admin.result["result"] == 0, admin.result
    raw = admin.response[0]["raw_attributes"]
    # ldap3 lists every requested attribute, the absent ones with no values: drop those.
    return {
        name.lower(): [v.decode("utf-8") for v in values] for name, values in raw.items() if values
    }


def person(uid: str, *extra: str, parent: str = PEOPLE) -> str:
    """LDIF for a minimal inetOrgPerson + ixiUmsUser below `parent`."""
    lines = [
        f"dn: uid={uid},{parent}",
        "objectClass: inetOrgPerson",
        "objectClass: ixiUmsUser",
        f"uid: {uid}",
        f"cn: {uid} test",
        "sn: test",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def add(server: RunningServer, ldif: str) -> None:
    done = server.ldap("ldapadd", stdin=ldif)
    assert done.returncode == 0, done.stderr


def modify(server: RunningServer, dn: str, *changes: str) -> int:
    """Apply one modify request (changes separated by '-' lines); returns the exit status."""
    ldif = f"dn: {dn}\nchangetype: modify\n" + "\n".join(changes) + "\n"
    return server.ldap("ldapmodify", stdin=ldif).returncode


def test_ldapadd_creates_an_entry_with_operational_attributes(
    server: RunningServer, admin: Connection
) -> None:
    """An added entry reads back with its values, its creator and a fresh entryUUID."""
    done = server.ldap("ldapadd", stdin=person("w-add", "mail: w-add@example.com"))
    assert done.returncode == 0, done.stderr
    assert f'adding new entry "uid=w-add,{PEOPLE}"' in done.stdout
    entry = read(admin, f"uid=w-add,{PEOPLE}", "*", "+")
    assert entry is not None
    assert entry["mail"] == ["w-add@example.com"]
    assert entry["creatorsname"] == [ADMIN_DN]
    assert entry["structuralobjectclass"] == ["inetOrgPerson"]
    assert len(entry["entryuuid"][0]) == 36


def test_ldapadd_with_a_non_ascii_dn(server: RunningServer, admin: Connection) -> None:
    """A base64 DN with umlauts (RFC 2849 'dn::') is stored and found by its UTF-8 DN."""
    dn = f"cn=Jörg Größer,{PEOPLE}"
    ldif = (
        "dn:: Y249SsO2cmcgR3LDtsOfZXIsb3U9cGVvcGxlLGRjPWV4YW1wbGUsZGM9Y29t\n"
        "objectClass: person\ncn:: SsO2cmcgR3LDtsOfZXI=\nsn:: R3LDtsOfZXI=\n"
    )
    add(server, ldif)
    entry = read(admin, dn, "cn", "sn")
    assert entry == {"cn": ["Jörg Größer"], "sn": ["Größer"]}


def test_modify_add_replace_and_delete_in_one_request(
    server: RunningServer, admin: Connection
) -> None:
    """One ldapmodify request adds a value, replaces an attribute and deletes another."""
    dn = f"uid=w-mod,{PEOPLE}"
    add(server, person("w-mod", "l: Olching", "description: old"))
    status = modify(
        server,
        dn,
        "add: mail\nmail: w-mod@example.com\n-",
        "replace: l\nl: München\n-",
        "delete: description\n-",
    )
    assert status == 0
    entry = read(admin, dn, "mail", "l", "description")
    assert entry == {"mail": ["w-mod@example.com"], "l": ["München"]}


def test_modify_value_delete_removes_only_that_value(
    server: RunningServer, admin: Connection
) -> None:
    """'delete: attr' with a value removes that value and keeps the others (RFC 4511 §4.6)."""
    dn = f"uid=w-valdel,{PEOPLE}"
    add(server, person("w-valdel", "ixiFaxInboundFormat: tif", "ixiFaxInboundFormat: pdf"))
    assert modify(server, dn, "delete: ixiFaxInboundFormat\nixiFaxInboundFormat: TIF\n-") == 0
    assert read(admin, dn, "ixiFaxInboundFormat") == {"ixifaxinboundformat": ["pdf"]}


def test_modify_replace_with_no_values_removes_the_attribute(
    server: RunningServer, admin: Connection
) -> None:
    """'replace: attr' without values deletes the attribute, and is no error if it is absent."""
    dn = f"uid=w-repl,{PEOPLE}"
    add(server, person("w-repl", "mobile: +49 170 1234567"))
    assert modify(server, dn, "replace: mobile\n-", "replace: pager\n-") == 0
    assert read(admin, dn, "mobile", "pager") == {}


def test_modify_increment_adds_to_an_integer(server: RunningServer, admin: Connection) -> None:
    """The increment modification (RFC 4525) raises ixiFaxDailyLimit from 5 to 8."""
    dn = f"uid=w-inc,{PEOPLE}"
    add(server, person("w-inc", "ixiFaxDailyLimitMode: custom", "ixiFaxDailyLimit: 5"))
    assert modify(server, dn, "increment: ixiFaxDailyLimit\nixiFaxDailyLimit: 3\n-") == 0
    assert read(admin, dn, "ixiFaxDailyLimit") == {"ixifaxdailylimit": ["8"]}


def test_ldapdelete_removes_a_leaf(server: RunningServer, admin: Connection) -> None:
    """After ldapdelete the entry is gone: a base search on it is noSuchObject."""
    dn = f"uid=w-del,{PEOPLE}"
    add(server, person("w-del"))
    done = server.ldap("ldapdelete", dn)
    assert done.returncode == 0, done.stderr
    assert read(admin, dn) is None


def test_ldapdelete_recursive_removes_a_subtree(server: RunningServer, admin: Connection) -> None:
    """ldapdelete -r (search, then delete leaves first) removes an ou with its users."""
    ou = f"ou=w-tree,{BASE_DN}"
    add(server, f"dn: {ou}\nobjectClass: organizationalUnit\nou: w-tree\n")
    add(server, person("w-tree-1", parent=ou) + "\n" + person("w-tree-2", parent=ou))
    done = server.ldap("ldapdelete", "-r", ou)
    assert done.returncode == 0, done.stderr
    assert read(admin, ou) is None
    assert read(admin, f"uid=w-tree-1,{ou}") is None


def test_modrdn_without_r_keeps_the_old_rdn_value(server: RunningServer, admin: Connection) -> None:
    """ldapmodrdn without -r (deleteoldrdn FALSE) keeps the old uid as a second value."""
    add(server, person("w-ren1"))
    done = server.ldap("ldapmodrdn", f"uid=w-ren1,{PEOPLE}", "uid=w-ren1b")
    assert done.returncode == 0, done.stderr
    assert read(admin, f"uid=w-ren1,{PEOPLE}") is None
    entry = read(admin, f"uid=w-ren1b,{PEOPLE}", "uid")
    assert entry is not None
    assert sorted(entry["uid"]) == ["w-ren1", "w-ren1b"]


def test_modrdn_with_r_removes_the_old_rdn_value(server: RunningServer, admin: Connection) -> None:
    """ldapmodrdn -r (deleteoldrdn TRUE) leaves only the new uid."""
    add(server, person("w-ren2"))
    done = server.ldap("ldapmodrdn", "-r", f"uid=w-ren2,{PEOPLE}", "uid=w-ren2b")
    assert done.returncode == 0, done.stderr
    assert read(admin, f"uid=w-ren2b,{PEOPLE}", "uid") == {"uid": ["w-ren2b"]}


def test_modrdn_to_another_naming_attribute(server: RunningServer, admin: Connection) -> None:
    """Renaming uid=... to cn=... with -r drops the old RDN value: the entry has no uid left."""
    add(server, person("w-ren3"))
    done = server.ldap("ldapmodrdn", "-r", f"uid=w-ren3,{PEOPLE}", "cn=w-ren3 test")
    assert done.returncode == 0, done.stderr
    entry = read(admin, f"cn=w-ren3 test,{PEOPLE}", "uid", "cn")
    assert entry == {"cn": ["w-ren3 test"]}


def test_modrdn_with_new_superior_moves_the_entry(server: RunningServer, admin: Connection) -> None:
    """ldapmodrdn -s (newSuperior) moves a user to another ou under the same RDN."""
    ou = f"ou=w-moved,{BASE_DN}"
    add(server, f"dn: {ou}\nobjectClass: organizationalUnit\nou: w-moved\n")
    add(server, person("w-move"))
    done = server.ldap("ldapmodrdn", "-r", "-s", ou, f"uid=w-move,{PEOPLE}", "uid=w-move")
    assert done.returncode == 0, done.stderr
    assert read(admin, f"uid=w-move,{PEOPLE}") is None
    entry = read(admin, f"uid=w-move,{ou}", "entryDN")
    assert entry == {"entrydn": [f"uid=w-move,{ou}"]}


def test_subtree_rename_moves_every_descendant(server: RunningServer, admin: Connection) -> None:
    """Renaming an ou with users below it: the users answer under the new DN, not the old."""
    old, new = f"ou=w-sub,{BASE_DN}", f"ou=w-sub2,{BASE_DN}"
    add(server, f"dn: {old}\nobjectClass: organizationalUnit\nou: w-sub\n")
    add(server, person("w-sub-1", parent=old))
    done = server.ldap("ldapmodrdn", "-r", old, "ou=w-sub2")
    assert done.returncode == 0, done.stderr
    assert read(admin, f"uid=w-sub-1,{old}") is None
    assert read(admin, f"uid=w-sub-1,{new}", "entryDN") == {"entrydn": [f"uid=w-sub-1,{new}"]}
    admin.search(new, "(uid=w-sub-1)", attributes=["1.1"])
    assert [r["dn"] for r in admin.response] == [f"uid=w-sub-1,{new}"]


def test_compare_true_and_false_are_exit_statuses_6_and_5(server: RunningServer) -> None:
    """ldapcompare exits compareTrue (6) or compareFalse (5), using the attribute's matching
    rule: caseIgnore for sn, telephoneNumberMatch for the fax."""
    dn = f"uid=mhuber,{PEOPLE}"
    assert server.ldap("ldapcompare", dn, "sn:HUBER").returncode == 6
    assert server.ldap("ldapcompare", dn, "sn:Hubert").returncode == 5
    assert server.ldap("ldapcompare", dn, "fax:+4981424799128").returncode == 6


def test_compare_on_an_absent_attribute_is_no_such_attribute(server: RunningServer) -> None:
    """Comparing an attribute the entry does not hold is noSuchAttribute (16), not FALSE."""
    done = server.ldap("ldapcompare", f"uid=mhuber,{PEOPLE}", "mobile:+491701234567")
    assert done.returncode == 16
    assert "No such attribute" in done.stdout + done.stderr
