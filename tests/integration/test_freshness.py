"""Read your own writes on a node with two workers: an acknowledged write is seen by the next
request on any connection, whichever worker answers it (the freshness barrier)."""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest

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

PEOPLE = f"ou=people,{BASE_DN}"
NEW_CONNECTIONS = 24  # SO_REUSEPORT spreads them over both workers


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("freshness") / "data"
    init_data_dir(data_dir)
    running = start_server(data_dir, workers=2)
    yield running
    stop_server(running)


def _connect(
    server: RunningServer, dn: str = ADMIN_DN, password: str = ADMIN_PASSWORD
) -> ldap3.Connection:
    target = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
    return ldap3.Connection(target, dn, password, auto_bind=True)


def test_a_user_added_on_one_connection_binds_and_is_found_on_every_new_one(
    two_workers: RunningServer,
) -> None:
    admin = _connect(two_workers)
    for round_ in range(3):
        dn = f"uid=fresh{round_},{PEOPLE}"
        attributes = {"cn": f"fresh {round_}", "sn": "fresh", "userPassword": "Fresh-pw-1"}
        assert admin.add(dn, ["inetOrgPerson", "ixiUmsUser"], attributes), admin.result
        for _ in range(NEW_CONNECTIONS):
            user = _connect(two_workers, dn, "Fresh-pw-1")  # auto_bind raises when refused
            assert user.extend.standard.who_am_i() == f"dn:{dn}"
            assert user.search(PEOPLE, f"(uid=fresh{round_})", attributes=["cn"])
            assert [entry.entry_dn for entry in user.entries] == [dn]
            user.unbind()
    admin.unbind()


def test_a_user_added_by_the_command_is_found_by_the_next_search(
    two_workers: RunningServer,
) -> None:
    for round_ in range(3):
        surname = f"Frischling{round_}"
        ixidir(
            two_workers.data_dir, "user", "add", "--given-name", "Kai", "--surname", surname,
            "--mail", f"kai.{round_}@example.com",
        )  # fmt: skip
        for _ in range(NEW_CONNECTIONS // 3):
            admin = _connect(two_workers)
            assert admin.search(PEOPLE, f"(sn={surname})", attributes=["uid"]), surname
            admin.unbind()
