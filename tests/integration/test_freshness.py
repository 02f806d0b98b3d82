"""Read your own writes on a node with two workers: an acknowledged write is seen by the next
request on any connection, whichever worker answers it (the freshness barrier)."""

from __future__ import annotations

from pathlib import Path

import ldap3

from ixidir.admin.siblings import WORKERS_DIR
from ixidir.storage.committed import ACKNOWLEDGED_FILE, CommittedSequence

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, RunningServer, ixidir

PEOPLE = f"ou=people,{BASE_DN}"
NEW_CONNECTIONS = 24  # SO_REUSEPORT spreads them over both workers
SERVER_WORKERS = 2  # whatever the default: this is about workers


def _connect(
    server: RunningServer, dn: str = ADMIN_DN, password: str = ADMIN_PASSWORD
) -> ldap3.Connection:
    target = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
    return ldap3.Connection(target, dn, password, auto_bind=True)


def test_a_user_added_on_one_connection_binds_and_is_found_on_every_new_one(
    server: RunningServer,
) -> None:
    admin = _connect(server)
    for round_ in range(3):
        dn = f"uid=fresh{round_},{PEOPLE}"
        attributes = {"cn": f"fresh {round_}", "sn": "fresh", "userPassword": "Fresh-pw-1"}
        assert admin.add(dn, ["inetOrgPerson", "ixiUmsUser"], attributes), admin.result
        for _ in range(NEW_CONNECTIONS):
            user = _connect(server, dn, "Fresh-pw-1")  # auto_bind raises when refused
            assert user.extend.standard.who_am_i() == f"dn:{dn}"
            assert user.search(PEOPLE, f"(uid=fresh{round_})", attributes=["cn"])
            assert [entry.entry_dn for entry in user.entries] == [dn]
            user.unbind()
    admin.unbind()


def test_a_user_added_by_the_command_is_found_by_the_next_search(
    server: RunningServer,
) -> None:
    for round_ in range(3):
        surname = f"Frischling{round_}"
        ixidir(
            server.data_dir, "user", "add", "--given-name", "Kai", "--surname", surname,
            "--mail", f"kai.{round_}@example.com",
        )  # fmt: skip
        for _ in range(NEW_CONNECTIONS // 3):
            admin = _connect(server)
            assert admin.search(PEOPLE, f"(sn={surname})", attributes=["uid"]), surname
            admin.unbind()


def test_every_worker_applied_a_write_before_it_is_answered(server: RunningServer) -> None:
    """So the other worker's requests need not wait for it (server.writes: siblings)."""
    workers = sorted((server.data_dir / WORKERS_DIR).glob("applied-*.seq"))
    assert len(workers) == SERVER_WORKERS
    admin = _connect(server)
    for round_ in range(5):
        dn = f"uid=seen{round_},{PEOPLE}"
        assert admin.add(dn, ["inetOrgPerson"], {"cn": "seen", "sn": "seen"}), admin.result
        acknowledged = _read(server.data_dir / ACKNOWLEDGED_FILE)
        assert acknowledged > 0
        assert [_read(path) >= acknowledged for path in workers] == [True] * SERVER_WORKERS
    admin.unbind()


def _read(path: Path) -> int:
    sequence = CommittedSequence(path)
    try:
        return sequence.read()
    finally:
        sequence.close()
