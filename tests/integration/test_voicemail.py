"""Voice mailbox end to end: `ixidir voicemail` commands beside a running `ixidir serve`, the
verify-PIN extended operation through ldap3, PIN writes through ldapmodify, secrecy through
ldapsearch and ldapcompare."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

import ldap3
import pytest
from ldaptor.protocols import pureber

from ixidir.config import load_config, write_config

from .conftest import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)

VERIFY_PIN = "2.25.36358030867219218258049950064569224190.3.3"
USER = f"uid=jmueller,ou=people,{BASE_DN}"  # demo user: fax +49 8142 4799-123
USER_PASSWORD = "jm-Secret-1"
VOICEBOX = f"cn=voicebox,{BASE_DN}"
VOICEBOX_PASSWORD = "vb-Secret-1"
FOLLOW_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Demo users, a service account for the voice package, and a password for jmueller."""
    data_dir = tmp_path_factory.mktemp("voicemail") / "data"
    init_data_dir(data_dir)
    config = load_config(data_dir)
    write_config(data_dir, dataclasses.replace(config, service_accounts=(VOICEBOX,)))
    ldif = data_dir.parent / "voicebox.ldif"
    ldif.write_text(
        f"dn: {VOICEBOX}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
        f"cn: voicebox\nuserPassword: {VOICEBOX_PASSWORD}\n"
    )
    ixidir(data_dir, "import", str(ldif))
    running = start_server(data_dir)
    running.ldap(
        "ldapmodify",
        stdin=f"dn: {USER}\nchangetype: modify\nreplace: userPassword\n"
        f"userPassword: {USER_PASSWORD}\n",
        check=True,
    )
    yield running
    stop_server(running)


def connect(server: RunningServer, dn: str, password: str) -> ldap3.Connection:
    target = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
    return ldap3.Connection(target, dn, password, auto_bind=True, raise_exceptions=False)


def request_value(user: str, pin: str) -> bytes:
    """As the voice package would encode it: SEQUENCE { user LDAPDN, pin OCTET STRING }."""
    parts = [pureber.BEROctetString(user.encode()), pureber.BEROctetString(pin.encode())]
    value: bytes = pureber.BERSequence(parts).toWire()
    return value


def verify(connection: ldap3.Connection, pin: str, user: str = USER) -> tuple[int, list[int]]:
    """(resultCode, [result, attemptsLeft]) of one verify-PIN request."""
    connection.extended(VERIFY_PIN, request_value(user, pin))
    code = int(connection.result["result"])
    value = connection.result.get("responseValue")
    if not value:
        return code, []
    outer, _ = pureber.berDecodeObject(pureber.BERDecoderContext(), value)
    return code, [int(item.value) for item in outer.data]


def eventually(check: Callable[[], tuple[int, list[int]]], wanted: tuple[int, list[int]]) -> None:
    """The server applies the CLI's writes from the changelog within a moment; wait for it."""
    deadline = time.monotonic() + FOLLOW_TIMEOUT
    seen = check()
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = check()
    assert seen == wanted


def attribute(server: RunningServer, name: str, *, dn: str = USER) -> list[str]:
    found = server.ldap("ldapsearch", "-LLL", "-b", dn, "-s", "base", name, "+", check=True)
    prefix = f"{name}: "
    return [line[len(prefix) :] for line in found.stdout.splitlines() if line.startswith(prefix)]


def test_set_pin_reads_stdin_and_the_server_verifies_it(server: RunningServer) -> None:
    refused = ixidir(
        server.data_dir, "voicemail", "set-pin", "jmueller", stdin="9123\n", check=False
    )
    assert refused.returncode == 2
    assert "end of the user's own phone or fax number" in refused.stderr
    done = ixidir(server.data_dir, "voicemail", "set-pin", "jmueller", stdin="480271\n")
    assert done.stdout == f"{USER}: PIN set\n"
    service = connect(server, VOICEBOX, VOICEBOX_PASSWORD)
    eventually(lambda: verify(service, "480271"), (0, [0, 3]))


def test_wrong_pins_lock_and_the_reset_actions_unlock(server: RunningServer) -> None:
    ixidir(server.data_dir, "voicemail", "set-pin", "jmueller", stdin="480271\n")
    service = connect(server, VOICEBOX, VOICEBOX_PASSWORD)
    eventually(lambda: verify(service, "480271"), (0, [0, 3]))
    answers = [verify(service, "000001") for _ in range(3)]
    assert answers == [(0, [1, 2]), (0, [1, 1]), (0, [1, 0])]
    assert verify(service, "480271") == (0, [2, 0])
    assert attribute(server, "ixiVmPinLocked") == ["TRUE"]
    assert attribute(server, "ixiVmPinFailedCount") == ["3"]
    shown = ixidir(server.data_dir, "voicemail", "show", "jmueller").stdout.splitlines()
    # Not a terminal: one header line and one tab-separated row, for scripts.
    assert shown[0] == "user\tPIN\tstate\twrong PINs\tPIN changed\twelcome mail"
    status = dict(zip(shown[0].split("\t"), shown[1].split("\t"), strict=True))
    assert status["user"] == USER
    assert status["state"].startswith("locked since")
    assert status["wrong PINs"].startswith("3 of 3")

    reset = ixidir(
        server.data_dir, "voicemail", "reset", "jmueller", "--unlock", "--new-pin",
        "--resend-welcome",
    )  # fmt: skip
    first, second = reset.stdout.splitlines()
    assert first == f"{USER}: unlocked, new PIN set, welcome mail requested"
    new_pin = second.removeprefix("new PIN: ")
    assert len(new_pin) == 6
    assert new_pin.isdigit()
    eventually(lambda: verify(service, new_pin), (0, [0, 3]))
    assert attribute(server, "ixiVmWelcomePending") == ["TRUE"]
    assert attribute(server, "ixiVmPinLocked") == []


@pytest.mark.parametrize(
    ("options", "welcome", "has_pin_line"),
    [
        (["--resend-welcome"], ["TRUE"], False),
        (["--new-pin", "--resend-welcome"], ["TRUE"], True),
        (["--unlock"], [], False),
        (["--unlock", "--resend-welcome"], ["TRUE"], False),
        (["--unlock", "--new-pin", "--resend-welcome"], ["TRUE"], True),
    ],
)
def test_the_manuals_five_reset_actions(
    server: RunningServer, options: list[str], welcome: list[str], has_pin_line: bool
) -> None:
    server.ldap(
        "ldapmodify",
        stdin=f"dn: {USER}\nchangetype: modify\ndelete: ixiVmWelcomePending\n",
    )  # absent already is fine: this only starts each case from "not pending"
    done = ixidir(server.data_dir, "voicemail", "reset", "jmueller", *options)
    assert any(line.startswith("new PIN: ") for line in done.stdout.splitlines()) is has_pin_line
    deadline = time.monotonic() + FOLLOW_TIMEOUT
    while attribute(server, "ixiVmWelcomePending") != welcome and time.monotonic() < deadline:
        time.sleep(0.2)
    assert attribute(server, "ixiVmWelcomePending") == welcome


def test_an_empty_reset_is_refused(server: RunningServer) -> None:
    refused = ixidir(server.data_dir, "voicemail", "reset", "jmueller", check=False)
    assert refused.returncode == 2
    assert "choose --unlock, --new-pin and/or --resend-welcome" in refused.stderr


def test_pins_written_over_ldap_obey_the_rules_and_are_stored_hashed(
    server: RunningServer,
) -> None:
    def replace_pin(pin: str) -> int:
        change = f"dn: {USER}\nchangetype: modify\nreplace: ixiVmPin\nixiVmPin: {pin}\n"
        return server.ldap("ldapmodify", stdin=change).returncode

    assert replace_pin("12345") == 19  # constraintViolation: an ascending run
    assert replace_pin("4799123") == 19  # the end of the user's fax number
    assert replace_pin("305917") == 0
    (stored,) = attribute(server, "ixiVmPin")
    assert stored.startswith("{PBKDF2-SHA256}600000$")
    assert attribute(server, "ixiVmPinChangedAt")
    service = connect(server, VOICEBOX, VOICEBOX_PASSWORD)
    assert verify(service, "305917") == (0, [0, 3])


def test_nobody_but_the_admin_reads_or_compares_the_pin(server: RunningServer) -> None:
    ixidir(server.data_dir, "voicemail", "set-pin", "jmueller", stdin="480271\n")
    for dn, password in ((VOICEBOX, VOICEBOX_PASSWORD), (USER, USER_PASSWORD)):
        found = server.ldap(
            "ldapsearch", "-LLL", "-D", dn, "-w", password, "-b", USER, "-s", "base",
            "ixiVmPin", "*", "+", bind=False,
        )  # fmt: skip
        assert found.returncode == 0
        assert f"dn: {USER}" in found.stdout
        assert "ixiVmPin:" not in found.stdout
    compared = server.ldap(
        "ldapcompare", "-D", USER, "-w", USER_PASSWORD, USER, "ixiVmPin:480271", bind=False
    )
    assert compared.returncode == 50
    user = connect(server, USER, USER_PASSWORD)
    assert verify(user, "480271")[0] == 50


def test_bad_requests_get_their_result_codes(server: RunningServer) -> None:
    service = connect(server, VOICEBOX, VOICEBOX_PASSWORD)
    assert verify(service, "480271", user=f"uid=nobody,ou=people,{BASE_DN}")[0] == 32
    service.extended(VERIFY_PIN, b"\x30\x02\x04\x00")
    assert service.result["result"] == 2  # protocolError: the pin is missing
    admin = connect(server, ADMIN_DN, ADMIN_PASSWORD)
    assert verify(admin, "000001", user=f"uid=sbaeuerle,ou=people,{BASE_DN}")[0] == 16


def test_root_dse_advertises_verify_pin(server: RunningServer) -> None:
    found = server.ldap("ldapsearch", "-b", "", "-s", "base", "supportedExtension", bind=False)
    assert VERIFY_PIN in found.stdout
