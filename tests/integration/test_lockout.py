"""Bind throttling and lockout (issue 12 item 2) against a real `ixidir serve` with its default
two workers (the counts live in the database, so both see the same):
ldapwhoami and ldap3 binds on new connections (each may land on either worker), settings set
with ldapmodify on cn=ums-defaults, and `ixidir user unlock|show` on the same data directory.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from server import wire

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, RunningServer, ixidir, stop_server
from .test_access import CONNECTOR_DN, CONNECTOR_PASSWORD, _configured_server
from .test_auth import set_password, whoami
from .test_tls import serving_pid, split_messages
from .test_workers import worker_pids

PEOPLE = f"ou=people,{BASE_DN}"
DEFAULTS = f"cn=ums-defaults,{BASE_DN}"
SETTINGS = (
    "ixiBindMaxFailures",
    "ixiBindFailureWindow",
    "ixiBindLockout",
    "ixiBindAddressFailures",
    "ixiBindAddressWindow",
    "ixiBindAddressBlock",
)
INVALID_CREDENTIALS = "Invalid credentials (49)"
# A lock of a few seconds is waited out by polling, at most this long (never a timing test).
EXPIRY_TIMEOUT = 30.0
# Another loopback address for the throttle tests, so the block does not reach other tests.
OTHER_ADDRESS = "127.0.0.2"
# New connections tried until one lands on the wanted worker (SO_REUSEPORT spreads them).
WORKER_TRIES = 100
WHO_AM_I = "1.3.6.1.4.1.4203.1.11.3"
BIND_RESPONSE, EXTENDED_RESPONSE = 0x61, 0x78  # [APPLICATION 1], [APPLICATION 24]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("lockout") / "data"
    running = _configured_server(data_dir, service_accounts=f'["{CONNECTOR_DN}"]')
    yield running
    stop_server(running)


@pytest.fixture(autouse=True)
def _default_settings(server: RunningServer) -> Iterator[None]:
    """Every test starts and ends with the default lockout and the address throttle off: all
    of this module's clients share 127.0.0.1, and its wrong passwords would block it."""
    configure(server)
    yield
    configure(server)


def configure(server: RunningServer, **values: int) -> None:
    """Replace the ixiBind* settings: those named get their value, the others their default
    (none on the entry), but for the address throttle, off unless named."""
    values.setdefault("ixiBindAddressFailures", 0)
    parts = [f"dn: {DEFAULTS}", "changetype: modify"]
    for name in SETTINGS:
        parts.append(f"replace: {name}")
        if name in values:
            parts.append(f"{name}: {values[name]}")
        parts.append("-")
    done = server.ldap("ldapmodify", stdin="\n".join(parts) + "\n")
    assert done.returncode == 0, done.stderr


def user(server: RunningServer, uid: str, password: str) -> str:
    dn = f"uid={uid},{PEOPLE}"
    set_password(server, dn, password)
    return dn


def refused(server: RunningServer, dn: str, password: str) -> bool:
    done = whoami(server, dn, password)
    return done.returncode != 0 and INVALID_CREDENTIALS in done.stderr


def accepted(server: RunningServer, dn: str, password: str) -> bool:
    done = whoami(server, dn, password)
    return done.returncode == 0 and done.stdout.strip() == f"dn:{dn}"


def bind_from(server: RunningServer, source: str, dn: str, password: str) -> int:
    """The resultCode of an ldap3 simple bind from the loopback address `source`."""
    connection = ldap3.Connection(
        ldap3.Server(server.host, port=server.port),
        user=dn,
        password=password,
        source_address=source,
    )
    try:
        connection.bind()
        return int(connection.result["result"])
    finally:
        connection.unbind()


def audit_text(server: RunningServer) -> str:
    path: Path = server.data_dir / "audit.ldif"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_five_wrong_passwords_lock_until_unlocked(server: RunningServer) -> None:
    dn = user(server, "jmueller", "Right-pw-1")
    for _ in range(5):
        assert refused(server, dn, "wrong")
    assert refused(server, dn, "Right-pw-1")  # locked: the right password is refused as wrong
    shown = ixidir(server.data_dir, "user", "show", "jmueller").stdout
    assert "# bind: locked since" in shown
    done = ixidir(server.data_dir, "user", "unlock", "jmueller")
    assert done.stdout.strip() == f"{dn}: unlocked"
    assert accepted(server, dn, "Right-pw-1")
    again = ixidir(server.data_dir, "user", "unlock", "jmueller")
    assert "not locked" in again.stdout
    log = audit_text(server)
    assert "# bindLockout " in log
    assert f"dn: {dn}\n" in log
    assert "# bindUnlock " in log


def test_both_workers_add_to_one_count(server: RunningServer) -> None:
    """3 wrong passwords on one worker and 2 on the other lock the account: with a count per
    process neither would have reached 5."""
    pids = [server.process.pid, *worker_pids(server.process.pid)]
    assert len(pids) == 2
    dn = user(server, "tkoehler", "Right-pw-5")
    for pid in [pids[0]] * 3 + [pids[1]] * 2:
        assert wrong_bind_on(server, pid, pids, dn) == 49
    assert refused(server, dn, "Right-pw-5")


def wrong_bind_on(server: RunningServer, pid: int, pids: list[int], dn: str) -> int:
    """The resultCode of a wrong-password bind on a connection that worker `pid` accepted."""
    for _ in range(WORKER_TRIES):
        with socket.create_connection((server.host, server.port), timeout=10) as raw:
            # A WhoAmI first (counted nowhere): once answered, the connection is accepted.
            assert answer_to(raw, wire.extended(1, WHO_AM_I))[5] == EXTENDED_RESPONSE
            if serving_pid(raw, pids) == pid:
                answer = answer_to(raw, wire.bind(2, dn, "wrong"))
                assert (answer[5], answer[7:9]) == (BIND_RESPONSE, b"\x0a\x01")  # resultCode
                return answer[9]
    raise AssertionError(f"no connection reached worker {pid} in {WORKER_TRIES} tries")


def answer_to(raw: socket.socket, request: bytes) -> bytes:
    """Send a request that has one response, and read that response."""
    raw.sendall(request)
    data = b""
    while not (messages := split_messages(data)):
        chunk = raw.recv(4096)
        assert chunk, "the server closed the connection"
        data += chunk
    (answer,) = messages
    return answer


def test_a_correct_password_clears_the_count(server: RunningServer) -> None:
    dn = user(server, "sbaeuerle", "Right-pw-2")
    for _ in range(4):
        assert refused(server, dn, "wrong")
    assert accepted(server, dn, "Right-pw-2")
    for _ in range(4):
        assert refused(server, dn, "wrong")
    assert accepted(server, dn, "Right-pw-2")
    assert "# bind: not locked" in ixidir(server.data_dir, "user", "show", "sbaeuerle").stdout


def test_a_lockout_expires(server: RunningServer) -> None:
    configure(server, ixiBindMaxFailures=2, ixiBindFailureWindow=60, ixiBindLockout=2)
    dn = user(server, "kschroeder", "Right-pw-3")
    assert refused(server, dn, "wrong")
    assert refused(server, dn, "wrong")
    assert refused(server, dn, "Right-pw-3")
    deadline = time.monotonic() + EXPIRY_TIMEOUT
    while not accepted(server, dn, "Right-pw-3"):
        assert time.monotonic() < deadline, "the lockout never expired"
        time.sleep(0.5)


def test_failures_outside_the_window_do_not_add_up(server: RunningServer) -> None:
    configure(server, ixiBindMaxFailures=2, ixiBindFailureWindow=1, ixiBindLockout=0)
    dn = user(server, "aweiss", "Right-pw-4")
    assert refused(server, dn, "wrong")
    time.sleep(1.5)  # the window is over: the next failure starts a new one
    assert refused(server, dn, "wrong")
    assert accepted(server, dn, "Right-pw-4")


def test_a_service_account_is_never_locked(server: RunningServer) -> None:
    for _ in range(6):
        assert refused(server, CONNECTOR_DN, "wrong")
    assert accepted(server, CONNECTOR_DN, CONNECTOR_PASSWORD)


def test_an_address_with_many_failed_binds_is_blocked_for_everyone(
    server: RunningServer,
) -> None:
    configure(server, ixiBindAddressFailures=3, ixiBindAddressWindow=60, ixiBindAddressBlock=2)
    for _ in range(3):  # unknown names count for the address too
        assert bind_from(server, OTHER_ADDRESS, f"uid=nobody,{PEOPLE}", "guess") == 49
    # Blocked: unwillingToPerform, even for the administrator and a service account...
    assert bind_from(server, OTHER_ADDRESS, ADMIN_DN, ADMIN_PASSWORD) == 53
    assert bind_from(server, OTHER_ADDRESS, CONNECTOR_DN, CONNECTOR_PASSWORD) == 53
    # ... but only from that address.
    assert bind_from(server, "127.0.0.1", ADMIN_DN, ADMIN_PASSWORD) == 0
    assert "# bindAddressBlock " in audit_text(server)
    deadline = time.monotonic() + EXPIRY_TIMEOUT
    while bind_from(server, OTHER_ADDRESS, ADMIN_DN, ADMIN_PASSWORD) != 0:
        assert time.monotonic() < deadline, "the address block never expired"
        time.sleep(0.5)


def test_admin_reset_password_sets_a_new_one_and_unlocks(server: RunningServer) -> None:
    """Locks the administrator, then puts the original password back for the later tests."""
    configure(server, ixiBindMaxFailures=2, ixiBindLockout=0)
    for _ in range(2):
        assert refused(server, ADMIN_DN, "wrong")
    assert refused(server, ADMIN_DN, ADMIN_PASSWORD)
    done = ixidir(server.data_dir, "admin", "reset-password")
    line = done.stdout.strip()
    assert line.startswith(f"{ADMIN_DN}: new password (shown once): ")
    new = line.rsplit(" ", 1)[1]
    deadline = time.monotonic() + EXPIRY_TIMEOUT
    while not accepted(server, ADMIN_DN, new):  # the server follows the command's write
        assert time.monotonic() < deadline, "the new administrator password never worked"
        time.sleep(0.2)
    assert refused(server, ADMIN_DN, ADMIN_PASSWORD)
    assert new not in audit_text(server)
    assert "# adminPasswordReset " in audit_text(server)
    # Put the original password back for the tests' helpers (server.ldap binds with it).
    change = f"dn: {ADMIN_DN}\nchangetype: modify\nreplace: userPassword\n"
    restored = server.ldap(
        "ldapmodify", "-D", ADMIN_DN, "-w", new, bind=False,
        stdin=f"{change}userPassword: {ADMIN_PASSWORD}\n",
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr


def test_unlock_names_a_user_that_does_not_exist(server: RunningServer) -> None:
    done = ixidir(server.data_dir, "user", "unlock", "nosuch", check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "ixidir: no user with uid 'nosuch'"
    by_dn = ixidir(server.data_dir, "user", "unlock", ADMIN_DN)
    assert by_dn.stdout.strip() == f"{ADMIN_DN}: not locked (no failed binds counted)"
