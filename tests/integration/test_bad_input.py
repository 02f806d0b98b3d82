"""Bad input against a real `ixidir serve`: every refusal has its RFC 4511 result code, and the
directory is unchanged afterwards (a full admin snapshot is compared before and after).

Malformed PDUs cannot be sent with ldap-utils or ldap3 (both validate locally), so those go over
a raw socket as hand-built BER; the server must answer with a Notice of Disconnection (RFC 4511
§4.4.1) and keep serving other connections.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from ldap3 import SUBTREE, Connection, Server

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, RunningServer

PEOPLE = f"ou=people,{BASE_DN}"
USER_DN = f"uid=tkoehler,{PEOPLE}"
USER_PASSWORD = "Thomas-pw-1"
NOTICE_OF_DISCONNECTION = b"1.3.6.1.4.1.1466.20036"
PROTOCOL_ERROR = 2

Snapshot = dict[str, dict[str, list[bytes]]]


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> Iterator[Connection]:
    """One admin connection for snapshots (one bind: binds cost a PBKDF2 check)."""
    connection = Connection(
        Server(server.host, port=server.port, get_info="NO_INFO"),
        ADMIN_DN,
        ADMIN_PASSWORD,
        auto_bind=True,
    )
    yield connection
    connection.unbind()


@pytest.fixture(scope="module")
def user(server: RunningServer) -> str:
    """A demo user's DN, after the admin gave it a password (the demo users have none)."""
    done = server.ldap("ldappasswd", "-s", USER_PASSWORD, USER_DN)
    assert done.returncode == 0, done.stderr
    return USER_DN


def snapshot(admin: Connection) -> Snapshot:
    """Every entry with every user and operational attribute, as the admin sees it."""
    admin.search(BASE_DN, "(objectClass=*)", SUBTREE, attributes=["*", "+"])
    assert admin.result["result"] == 0, admin.result
    return {
        r["dn"].lower(): {k.lower(): sorted(v) for k, v in r["raw_attributes"].items()}
        for r in admin.response
    }


@pytest.fixture
def unchanged(admin: Connection, user: str) -> Iterator[None]:
    """Asserts, after the test, that the directory is exactly as it was before it (taken after
    `user` set its password, which a test's own use of `user` would otherwise do inside)."""
    before = snapshot(admin)
    yield
    assert snapshot(admin) == before


def ldif_modify(dn: str, *changes: str) -> str:
    return f"dn: {dn}\nchangetype: modify\n" + "\n-\n".join(changes) + "\n-\n"


def new_person(uid: str, *lines: str, classes: tuple[str, ...] = ("inetOrgPerson",)) -> str:
    head = [f"dn: uid={uid},{PEOPLE}", *(f"objectClass: {c}" for c in classes)]
    return "\n".join([*head, f"uid: {uid}", *lines]) + "\n"


def assert_refused(server: RunningServer, code: int, tool: str, *args: str, **kw: str) -> str:
    """Run an admin-bound tool; assert its exit status is `code`; return what it printed."""
    done = server.ldap(tool, *args, stdin=kw.get("stdin"))
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout + done.stderr


# --- malformed DNs (34) -------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_malformed_dns_are_invalid_dn_syntax(server: RunningServer) -> None:
    """A DN that does not parse (RFC 4514) is invalidDNSyntax (34) in search, delete, add and
    modrdn (as entry and as new RDN)."""
    assert_refused(server, 34, "ldapsearch", "-b", "uid=,=x", "(objectClass=*)")
    assert_refused(server, 34, "ldapdelete", "uid=nobody,,ou=people")
    ldif = "dn: uid=x,,ou=people,dc=example,dc=com\nobjectClass: person\ncn: x\nsn: x\n"
    assert_refused(server, 34, "ldapadd", stdin=ldif)
    assert_refused(server, 34, "ldapmodrdn", USER_DN, "uid=,x")


# --- malformed PDUs: Notice of Disconnection ----------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def integer(n: int) -> bytes:
    return tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big"))


def message(message_id: int, op: bytes) -> bytes:
    return tlv(0x30, integer(message_id) + op)


def search_request(search_filter: bytes) -> bytes:
    """A base-scope SearchRequest for the root DSE with the given encoded filter."""
    fields = tlv(0x04, b"") + tlv(0x0A, b"\x00") + tlv(0x0A, b"\x00") + integer(0) + integer(0)
    return tlv(0x63, fields + tlv(0x01, b"\x00") + search_filter + tlv(0x30, b""))


ANONYMOUS_BIND = message(1, tlv(0x60, integer(3) + tlv(0x04, b"") + tlv(0x80, b"")))


def read_tlv(data: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, content, next offset) of the BER element at `at` (definite lengths only)."""
    tag, first = data[at], data[at + 1]
    start, length = at + 2, first
    if first & 0x80:
        count = first & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return tag, data[start : start + length], start + length


def exchange(server: RunningServer, data: bytes, *, bind_first: bool = False) -> bytes:
    """Send raw bytes on a fresh connection; everything the server sends until it closes.

    With `bind_first`, an anonymous bind is sent and its BindResponse awaited before `data`
    (RFC 4511 lets a server drop requests still queued when it disconnects).
    """
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        if bind_first:
            sock.sendall(ANONYMOUS_BIND)
            answer = sock.recv(65536)
            _, content, end = read_tlv(answer, 0)
            assert end == len(answer)
            assert read_tlv(content, read_tlv(content, 0)[2])[0] == 0x61  # BindResponse
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def assert_notice_of_disconnection(received: bytes) -> None:
    """RFC 4511 §4.4.1: an unsolicited ExtendedResponse, messageID 0, protocolError, named by
    the notice's OID, and then the connection is closed (exchange() returned)."""
    tag, content, end = read_tlv(received, 0)
    assert (tag, end) == (0x30, len(received))
    _, message_id, at = read_tlv(content, 0)
    assert message_id == b"\x00"
    op_tag, op, _ = read_tlv(content, at)
    assert op_tag == 0x78  # [APPLICATION 24] ExtendedResponse
    _, result_code, _ = read_tlv(op, 0)
    assert result_code == bytes([PROTOCOL_ERROR])
    assert NOTICE_OF_DISCONNECTION in op


MALFORMED = {
    "not-a-sequence": b"\xff\xff\xff\xff",
    "message-id-zero": message(0, tlv(0x42, b"")),
    "indefinite-length": b"\x30\x80\x02\x01\x01\x42\x00\x00\x00",
    "response-op-from-client": message(1, tlv(0x65, tlv(0x0A, b"\x00") + b"\x04\x00\x04\x00")),
    "unknown-filter-choice": message(1, search_request(tlv(0xAA, tlv(0x04, b"a")))),
    "equality-filter-without-value": message(1, search_request(tlv(0xA3, tlv(0x04, b"cn")))),
    "substrings-filter-without-parts": message(
        1, search_request(tlv(0xA4, tlv(0x04, b"cn") + tlv(0x30, b"")))
    ),
    "truncated-inner-length": message(1, b"\x63\x7f\x04\x00"),
}


@pytest.mark.parametrize("pdu", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_pdu_gets_a_notice_of_disconnection(server: RunningServer, pdu: bytes) -> None:
    """Each malformed request closes its connection with a Notice of Disconnection, even after
    a successful bind on the same connection; the server process stays up."""
    assert_notice_of_disconnection(exchange(server, pdu, bind_first=True))
    assert server.process.poll() is None


def test_oversized_pdu_is_refused_before_its_content_arrives(server: RunningServer) -> None:
    """A PDU announcing 256 MiB is refused from its header alone (no waiting for the body)."""
    received = exchange(server, b"\x30\x84\x10\x00\x00\x00" + integer(1))
    assert_notice_of_disconnection(received)


def test_other_connections_keep_working_after_a_malformed_pdu(
    server: RunningServer, admin: Connection
) -> None:
    """A connection opened before the garbage arrived, and a new one after, both still work."""
    assert admin.search(USER_DN, "(objectClass=*)", attributes=["uid"])
    assert_notice_of_disconnection(exchange(server, b"\xff\xff"))
    assert admin.search(USER_DN, "(objectClass=*)", attributes=["uid"])
    done = server.ldap("ldapsearch", "-b", "", "-s", "base", "namingContexts", bind=False)
    assert done.returncode == 0
    assert BASE_DN in done.stdout


# --- semantically bad filters: Undefined, not an error ------------------------------------


def test_filters_with_unknown_rules_or_invalid_assertions_match_nothing(
    server: RunningServer,
) -> None:
    """RFC 4511 §4.5.1.7: an unknown matching rule or an assertion value invalid for the
    syntax makes the item Undefined: success with no entries."""
    for search_filter in (
        "(sn:1.2.3.4.5:=Huber)",
        "(ixiFaxDailyLimit>=abc)",
        "(ixiVmEnabled=maybe)",
    ):
        done = server.ldap("ldapsearch", "-LLL", "-b", BASE_DN, search_filter, "1.1")
        assert (done.returncode, done.stdout.strip()) == (0, ""), search_filter


# --- unknown attributes (17) and schema violations ----------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_unknown_attribute_is_undefined_attribute_type(server: RunningServer) -> None:
    """Adding an entry with, or modifying in, an attribute no schema defines is 17."""
    ldif = new_person("b-unknown", "cn: x", "sn: x", "fooBar: x")
    assert "fooBar" in assert_refused(server, 17, "ldapadd", stdin=ldif)
    ldif = ldif_modify(USER_DN, "replace: fooBar\nfooBar: x")
    assert_refused(server, 17, "ldapmodify", stdin=ldif)


@pytest.mark.usefixtures("unchanged")
def test_object_class_violations_are_65(server: RunningServer) -> None:
    """A missing MUST attribute (sn for person) or an attribute no class allows is 65."""
    missing_sn = new_person("b-nosn", "cn: x")
    assert "sn" in assert_refused(server, 65, "ldapadd", stdin=missing_sn)
    not_allowed = new_person("b-person", "cn: x", "sn: x", classes=("person",))  # uid
    assert_refused(server, 65, "ldapadd", stdin=not_allowed)
    # tkoehler holds ixiFaxPermission, which only the auxiliary class ixiUmsUser allows
    drop_aux = ldif_modify(USER_DN, "delete: objectClass\nobjectClass: ixiUmsUser")
    assert_refused(server, 65, "ldapmodify", stdin=drop_aux)


@pytest.mark.usefixtures("unchanged")
def test_invalid_values_are_invalid_attribute_syntax(server: RunningServer) -> None:
    """A value its syntax rejects is 21: a non-integer page count, an unknown enum token, a
    Boolean that is not TRUE/FALSE."""
    ldif = new_person(
        "b-syntax",
        "cn: x",
        "sn: x",
        "ixiFaxMaxPages: many",
        classes=("inetOrgPerson", "ixiUmsUser"),
    )
    assert_refused(server, 21, "ldapadd", stdin=ldif)
    for change in (
        "replace: ixiFaxPermission\nixiFaxPermission: galactic",
        "replace: ixiVmEnabled\nixiVmEnabled: yes",
    ):
        assert_refused(server, 21, "ldapmodify", stdin=ldif_modify(USER_DN, change))


@pytest.mark.usefixtures("unchanged")
def test_constraint_violations_are_19(server: RunningServer) -> None:
    """Two values for a single-valued type, a custom limit without mode=custom, and writing a
    NO-USER-MODIFICATION attribute are constraintViolation (19)."""
    for change in (
        "replace: ixiVmEnabled\nixiVmEnabled: TRUE\nixiVmEnabled: FALSE",
        "add: ixiFaxDailyLimit\nixiFaxDailyLimit: 5",
        "replace: entryUUID\nentryUUID: 00000000-0000-0000-0000-000000000000",
    ):
        assert_refused(server, 19, "ldapmodify", stdin=ldif_modify(USER_DN, change))


@pytest.mark.usefixtures("unchanged")
def test_value_level_conflicts_are_20_and_16(server: RunningServer) -> None:
    """Adding a value already present is attributeOrValueExists (20), in any letter case;
    deleting a value that is not there is noSuchAttribute (16)."""
    exists = ldif_modify(USER_DN, "add: departmentNumber\ndepartmentNumber: SUPPORT")
    assert_refused(server, 20, "ldapmodify", stdin=exists)
    missing = ldif_modify(USER_DN, "delete: mail\nmail: nobody@example.com")
    assert_refused(server, 16, "ldapmodify", stdin=missing)


@pytest.mark.usefixtures("unchanged")
def test_rdn_and_structural_class_are_protected(server: RunningServer) -> None:
    """Removing the RDN's value is notAllowedOnRDN (67); removing the structural class is
    objectClassModsProhibited (69)."""
    assert_refused(server, 67, "ldapmodify", stdin=ldif_modify(USER_DN, "delete: uid"))
    change = "delete: objectClass\nobjectClass: inetOrgPerson"
    assert_refused(server, 69, "ldapmodify", stdin=ldif_modify(USER_DN, change))


@pytest.mark.usefixtures("unchanged")
def test_a_failing_modify_applies_none_of_its_changes(server: RunningServer) -> None:
    """RFC 4511 §4.6: modify is atomic; a good first change is not kept when the second fails."""
    ldif = ldif_modify(
        USER_DN,
        "replace: mail\nmail: changed@example.com",
        "replace: ixiFaxMaxPages\nixiFaxMaxPages: notanumber",
    )
    assert_refused(server, 21, "ldapmodify", stdin=ldif)


# --- naming conflicts: 68, 32, 66 ---------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_existing_entry_is_entry_already_exists(server: RunningServer) -> None:
    """Adding a demo user again, or renaming onto one, is entryAlreadyExists (68)."""
    ldif = new_person("mhuber", "cn: x", "sn: x")
    assert_refused(server, 68, "ldapadd", stdin=ldif)
    assert_refused(server, 68, "ldapmodrdn", USER_DN, "uid=mhuber")


@pytest.mark.usefixtures("unchanged")
def test_missing_parent_or_target_is_no_such_object(server: RunningServer) -> None:
    """A missing parent (add), newSuperior (modrdn -s) or target (delete, modify) is 32."""
    ldif = "dn: uid=b-orphan,ou=nowhere,dc=example,dc=com\nobjectClass: person\ncn: x\nsn: x\n"
    assert_refused(server, 32, "ldapadd", stdin=ldif)
    assert_refused(server, 32, "ldapmodrdn", "-s", f"ou=nowhere,{BASE_DN}", USER_DN, "uid=tkoehler")
    assert_refused(server, 32, "ldapdelete", f"uid=nobody,{PEOPLE}")
    ldif = ldif_modify(f"uid=nobody,{PEOPLE}", "replace: sn\nsn: x")
    assert_refused(server, 32, "ldapmodify", stdin=ldif)


@pytest.mark.usefixtures("unchanged")
def test_deleting_a_non_leaf_is_not_allowed_on_non_leaf(server: RunningServer) -> None:
    """ou=people has users below it: deleting it is 66 and removes nothing."""
    assert "(66)" in assert_refused(server, 66, "ldapdelete", PEOPLE)


# --- authentication and rights: 49, 50, anonymous reads -----------------------------------


@pytest.mark.usefixtures("unchanged")
def test_wrong_passwords_are_invalid_credentials(server: RunningServer, user: str) -> None:
    """A wrong password for the admin or a user, or a DN with no entry, is 49 alike."""
    for dn in (ADMIN_DN, user, f"uid=nobody,{PEOPLE}", f"uid=aweiss,{PEOPLE}"):
        done = server.ldap("ldapwhoami", "-D", dn, "-w", "wrong", bind=False)
        assert done.returncode == 49, dn
        assert "Invalid credentials" in done.stderr


def _writes(dn: str) -> list[tuple[str, tuple[str, ...], str | None]]:
    return [
        ("ldapadd", (), new_person("b-anon", "cn: x", "sn: x")),
        ("ldapmodify", (), ldif_modify(dn, "replace: sn\nsn: changed")),
        ("ldapdelete", (f"uid=mhuber,{PEOPLE}",), None),
        ("ldapmodrdn", (f"uid=mhuber,{PEOPLE}", "uid=renamed"), None),
    ]


@pytest.mark.usefixtures("unchanged")
def test_anonymous_writes_are_stronger_auth_required(server: RunningServer) -> None:
    """Anonymous add, modify, delete and modrdn are all refused with strongerAuthRequired (8),
    as slapd answers them: binding is what would help."""
    for tool, args, stdin in _writes(USER_DN):
        done = server.ldap(tool, *args, bind=False, stdin=stdin)
        assert done.returncode == 8, (tool, done.stderr)


@pytest.mark.usefixtures("unchanged")
def test_a_user_may_not_write_entries_not_even_its_own(server: RunningServer, user: str) -> None:
    """A bound demo user gets 50 for add, delete, modrdn and for changing its own sn (only
    its own password is writable)."""
    for tool, args, stdin in _writes(user):
        done = server.ldap(tool, "-D", user, "-w", USER_PASSWORD, *args, bind=False, stdin=stdin)
        assert done.returncode == 50, (tool, done.stderr)


def test_anonymous_clients_see_no_user_data(server: RunningServer) -> None:
    """With anonymous_read off (the default), an anonymous search of the suffix or of a user
    is noSuchObject (32): it discloses nothing, not even that the entry exists."""
    for base in (BASE_DN, f"uid=mhuber,{PEOPLE}"):
        done = server.ldap("ldapsearch", "-LLL", "-b", base, "(objectClass=*)", bind=False)
        assert (done.returncode, done.stdout.strip()) == (32, ""), base
    done = server.ldap("ldapcompare", f"uid=mhuber,{PEOPLE}", "sn:Huber", bind=False)
    assert done.returncode == 32


def test_a_user_sees_only_its_own_entry(server: RunningServer, user: str) -> None:
    """A bound user's subtree search of the suffix returns its own entry and nothing else."""
    done = server.ldap(
        "ldapsearch", "-LLL", "-D", user, "-w", USER_PASSWORD, "-b", BASE_DN, "(objectClass=*)",
        "1.1", bind=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line] == [f"dn: {user}"]
