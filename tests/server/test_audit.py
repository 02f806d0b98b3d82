"""The audit log (issue 12 item 4): LDIF records, secrets masked, rotation, and the session's
records of LDAP changes."""

from __future__ import annotations

import threading
from pathlib import Path

from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
)
from ixidir.errors import ResultCode
from ixidir.ldif import parse_ldif
from ixidir.server.audit import MASK, Action, AuditLog, Deletion, Origin, format_entry

from . import wire
from .fake_directory import ADMIN, BASE, FakeDirectory
from .test_protocol import PASSWORD_MODIFY, Connection

ORIGIN = Origin(ADMIN, "IP=192.0.2.7:50312", "conn=12")
WHEN = 1796633400.0  # 2026-12-07 08:50:00 UTC
BOB = f"uid=bob,{BASE}"


def test_an_add_is_an_ldif_record_with_slapd_style_header_and_masked_secrets() -> None:
    request = AddRequest(
        BOB,
        (("objectClass", (b"inetOrgPerson",)), ("uid", (b"bob",)), ("userPassword", (b"pw1",))),
    )
    text = format_entry(ORIGIN, request, when=WHEN)
    assert text.splitlines() == [
        f"# add 20261207T085000Z IP=192.0.2.7:50312 conn=12 result=0 by {ADMIN}",
        f"dn: {BOB}",
        "changetype: add",
        "objectClass: inetOrgPerson",
        "uid: bob",
        f"userPassword: {MASK}",
        "# end add 20261207T085000Z",
        "",
    ]
    (record,) = parse_ldif(text)
    assert record.dn == BOB


def test_a_modify_masks_every_secret_value_whatever_its_case_or_options() -> None:
    request = ModifyRequest(
        BOB,
        (
            Modification(ModOp.REPLACE, "USERPASSWORD", (b"pw1", b"pw2")),
            Modification(ModOp.ADD, "ixiVmPin;x-opt", (b"1234",)),
            Modification(ModOp.REPLACE, "description", (b"ok",)),
        ),
    )
    text = format_entry(ORIGIN, request, when=WHEN)
    for secret in (b"pw1", b"pw2", b"1234"):
        assert secret.decode() not in text
    assert "replace: USERPASSWORD\nUSERPASSWORD: *****\nUSERPASSWORD: *****\n-\n" in text
    assert "add: ixiVmPin;x-opt\nixiVmPin;x-opt: *****\n-\n" in text
    assert "replace: description\ndescription: ok\n-\n" in text


def test_every_modify_operation_has_its_ldif_name() -> None:
    """RFC 2849 add/delete/replace and RFC 4525 increment."""
    changes = tuple(Modification(op, "ixiFaxDailyLimit", (b"3",)) for op in ModOp)
    text = format_entry(ORIGIN, ModifyRequest(BOB, changes), when=WHEN)
    for name in ("add", "delete", "replace", "increment"):
        assert f"\n{name}: ixiFaxDailyLimit\nixiFaxDailyLimit: 3\n-\n" in text


def test_delete_and_modrdn_records() -> None:
    assert "changetype: delete\n" in format_entry(ORIGIN, Deletion(BOB), when=WHEN)
    text = format_entry(ORIGIN, ModifyDNRequest(BOB, "uid=robert", True, BASE), when=WHEN)
    assert "changetype: modrdn\nnewrdn: uid=robert\ndeleteoldrdn: 1\nnewsuperior: " in text


def test_a_refused_change_names_its_code_but_not_its_values() -> None:
    request = AddRequest(BOB, (("description", (b"anything a client sends",)),))
    text = format_entry(ORIGIN, request, ResultCode.INSUFFICIENT_ACCESS_RIGHTS, when=WHEN)
    assert "result=50 " in text
    assert "anything" not in text
    assert "changetype: add\n# not applied\n" in text


def test_an_administrative_action_for_the_lockout_code() -> None:
    """Lockouts and unlock come with issue 12 item 2: this is the call they make."""
    action = Action("lockout", BOB, (("reason", "5 failed binds in 300 s"), ("until", "09:00")))
    text = format_entry(Origin("", "IP=192.0.2.9:1", "conn=3"), action, when=WHEN)
    assert (
        text.splitlines()[0]
        == "# lockout 20261207T085000Z IP=192.0.2.9:1 conn=3 result=0 by anonymous"
    )
    assert "changetype: modify\n# reason: 5 failed binds in 300 s\n# until: 09:00\n" in text
    (record,) = parse_ldif(text)
    assert record.dn == BOB


def test_a_hostile_bind_dn_cannot_forge_a_record() -> None:
    origin = Origin("cn=x\ndn: cn=forged", "IP=192.0.2.7:1", "conn=1")
    text = format_entry(origin, Deletion(BOB), when=WHEN)
    assert "\ndn: cn=forged" not in text
    assert len(list(parse_ldif(text))) == 1


def test_the_log_appends_and_rotates_by_size(tmp_path: Path) -> None:
    path = tmp_path / "audit.ldif"
    log = AuditLog(path, max_bytes=600, keep=3, clock=lambda: WHEN)
    for number in range(12):
        log.record(ORIGIN, Deletion(f"uid=user{number},{BASE}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "audit.ldif",
        "audit.ldif.1",
        "audit.ldif.2",
    ]
    assert all(p.stat().st_size <= 600 for p in tmp_path.iterdir())
    assert "uid=user11," in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


def test_many_records_fill_files_to_the_limit_and_a_larger_one_goes_alone(
    tmp_path: Path,
) -> None:
    """An import's records come in chunks under the limit; one record over it is written into a
    fresh file instead of rotating for ever (1,000,000 users did, with 300 MB of records)."""
    path = tmp_path / "audit.ldif"
    log = AuditLog(path, max_bytes=600, keep=100, clock=lambda: WHEN)
    done = threading.Event()

    def write() -> None:
        log.record_many(ORIGIN, [Deletion(f"uid=user{n},{BASE}") for n in range(20)])
        log.record(ORIGIN, Deletion(f"uid={'x' * 900},{BASE}"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(10), "the audit log kept rotating"
    files = sorted(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    text = "".join(p.read_text() for p in sorted(files, key=_age, reverse=True))
    assert [f"uid=user{n}," in text for n in range(20)] == [True] * 20
    assert path.stat().st_size > 600  # the large record, alone in the newest file
    assert "uid=user" not in path.read_text()
    assert all(p.stat().st_size <= 600 for p in files if p != path)


def _age(path: Path) -> int:
    """audit.ldif is the newest, audit.ldif.N older the larger N."""
    suffix = path.name.rpartition(".")[2]
    return int(suffix) if suffix.isdigit() else 0


def test_the_writer_thread_writes_everything_by_close(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "audit.ldif"
    log = AuditLog(path, clock=lambda: WHEN)
    log.start()
    for number in range(50):
        log.record(ORIGIN, Deletion(f"uid=user{number},{BASE}"))
    log.close()
    assert len(list(parse_ldif(path.read_text()))) == 50
    assert log.failed is None


def _logged(tmp_path: Path) -> tuple[Connection[FakeDirectory], Path]:
    path = tmp_path / "audit.ldif"
    connection = Connection(FakeDirectory(), audit=AuditLog(path))
    return connection, path


def test_ldap_changes_are_logged_with_the_connection_and_the_bind_dn(tmp_path: Path) -> None:
    connection, path = _logged(tmp_path)
    connection.bind_admin()
    connection.send(
        wire.add(2, BOB, {"objectClass": ["person"], "userPassword": ["plain-secret"]}),
        wire.modify(3, BOB, {"userPassword": [(2, ["other-secret"])]}),
        wire.modify_dn(4, BOB, "uid=robert"),
        wire.delete(5, f"uid=robert,{BASE}"),
        wire.compare(6, f"uid=user0,{BASE}", "uid", "user0"),
    )
    text = path.read_text()
    kinds = [
        line.split()[1] for line in text.splitlines() if line.startswith("# ") and "by " in line
    ]
    assert kinds == ["add", "modify", "modrdn", "delete"]
    assert "IP=192.168.1.1:54321 conn=" in text
    assert f"result=0 by {ADMIN}" in text
    assert "secret" not in text


def test_a_refused_ldap_write_is_logged_with_its_code(tmp_path: Path) -> None:
    connection, path = _logged(tmp_path)
    connection.send(wire.delete(2, f"uid=user0,{BASE}"))
    assert "# delete " in path.read_text()
    assert "result=50 by anonymous" in path.read_text()


def test_password_modify_is_logged_without_the_password(tmp_path: Path) -> None:
    connection, path = _logged(tmp_path)
    connection.bind_admin()
    user = f"uid=user0,{BASE}".encode()
    value = b"\x30" + bytes([len(user) + 2 + 14]) + b"\x80" + bytes([len(user)]) + user
    value += b"\x82\x0cnew-password"
    replies = connection.send(wire.extended(2, PASSWORD_MODIFY, value))
    assert [r.code for _, r, _ in replies] == [ResultCode.SUCCESS]  # type: ignore[union-attr]
    text = path.read_text()
    assert text.startswith("# passwordModify ")
    assert f"dn: uid=user0,{BASE}\n" in text
    assert "new-password" not in text


def test_searches_binds_and_who_am_i_are_not_logged(tmp_path: Path) -> None:
    connection, path = _logged(tmp_path)
    connection.bind_admin()
    connection.send(wire.search(2, BASE), wire.extended(3, "1.3.6.1.4.1.4203.1.11.3"))
    assert not path.exists()


def test_a_record_the_thread_cannot_write_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    errors: list[OSError] = []
    log = AuditLog(tmp_path / "not-a-folder" / "audit.ldif", on_error=errors.append)
    log.start()
    log.record(ORIGIN, Deletion(BOB))
    log.close()
    assert len(errors) == 1
    assert log.failed is errors[0]


class BrokenAuditLog(AuditLog):
    """An audit log whose formatting fails, as a bug in it would."""

    def record(self, origin: Origin, change: object, result: int = 0) -> None:
        raise RuntimeError("bug")


def test_a_failing_audit_record_never_costs_the_client_its_answer(tmp_path: Path) -> None:
    connection = Connection(FakeDirectory(), audit=BrokenAuditLog(tmp_path / "audit.ldif"))
    connection.bind_admin()
    replies = connection.send(wire.delete(2, f"uid=user0,{BASE}"))
    assert [r.code for _, r, _ in replies] == [ResultCode.SUCCESS]  # type: ignore[union-attr]
    assert any(event.get("log_failure") for event in connection.events)
