"""Daily limits over LDAP: reserve/release extended operations against real servers.

Two `ixidir serve` processes share one embedded database (as server workers do), and eight
client processes reserve at once: the limit holds exactly across connections and processes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from ldaptor.protocols import pureber

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

RESERVE = "2.25.36358030867219218258049950064569224190.3.1"
RELEASE = "2.25.36358030867219218258049950064569224190.3.2"
USER = f"uid=jmueller,ou=people,{BASE_DN}"  # demo user: fax limit custom 50
LIMITED = f"uid=limited,ou=people,{BASE_DN}"
FAX, SMS = 0, 1
PROCESSES, PER_PROCESS, LIMIT = 8, 50, 100
LIMITED_LDIF = (
    f"dn: {LIMITED}\nobjectClass: inetOrgPerson\nobjectClass: ixiUmsUser\nuid: limited\n"
    f"cn: limited\nsn: Limited\nixiSmsDailyLimitMode: custom\nixiSmsDailyLimit: {LIMIT}\n"
)


def request_value(user: str, service: int, count: int = 1) -> bytes:
    parts = [pureber.BEROctetString(user.encode()), pureber.BEREnumerated(service)]
    if count != 1:
        parts.append(pureber.BERInteger(count))
    wire: bytes = pureber.BERSequence(parts).toWire()
    return wire


def decode(value: bytes) -> list[int]:
    """The response SEQUENCE's values: (granted, used, limit) or (used,); granted as 0/1."""
    outer, _ = pureber.berDecodeObject(pureber.BERDecoderContext(), value)
    return [
        int(bool(item.value)) if isinstance(item, pureber.BERBoolean) else int(item.value)
        for item in outer.data
    ]


def connect(
    server: RunningServer, dn: str = ADMIN_DN, password: str = ADMIN_PASSWORD
) -> ldap3.Connection:
    target = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
    return ldap3.Connection(target, dn, password, auto_bind=True, raise_exceptions=False)


def extended(connection: ldap3.Connection, oid: str, value: bytes) -> tuple[int, bytes | None]:
    connection.extended(oid, value)
    result = connection.result
    return int(result["result"]), result.get("responseValue")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    """Two servers on one data directory, with a user whose SMS limit is 100."""
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    init_data_dir(data_dir)
    ldif = data_dir.parent / "limited.ldif"
    ldif.write_text(LIMITED_LDIF)
    ixidir(data_dir, "import", str(ldif))
    running = [start_server(data_dir), start_server(data_dir)]
    yield running
    for server in running:
        stop_server(server)


def reserve_many(address: tuple[str, int], count: int) -> int:
    """One client process: `count` reservations of one SMS each; returns how many granted."""
    host, port = address
    server = RunningServer(Path(), host, port, None)  # type: ignore[arg-type]
    connection = connect(server)
    granted = 0
    for _ in range(count):
        code, value = extended(connection, RESERVE, request_value(LIMITED, SMS))
        assert code == 0, f"a reservation was answered with resultCode {code}"
        assert value is not None
        granted += decode(value)[0]
    connection.unbind()
    return granted


def test_concurrent_reservations_never_exceed_the_limit(servers: list[RunningServer]) -> None:
    """8 processes x 50 reservations over two servers: exactly the limit is granted."""
    addresses = [(servers[i % 2].host, servers[i % 2].port) for i in range(PROCESSES)]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        granted = pool.starmap(reserve_many, [(a, PER_PROCESS) for a in addresses])
    assert sum(granted) == LIMIT
    shown = ixidir(servers[0].data_dir, "limits", "show", LIMITED).stdout.splitlines()
    # Not a terminal: tab-separated values under one header line, for scripts.
    assert shown[0] == "user\tservice\tset by\tlimit\tused\tremaining\tnote"
    rows = [dict(zip(shown[0].split("\t"), line.split("\t"), strict=True)) for line in shown[1:]]
    assert [row["service"] for row in rows] == ["fax", "sms", "voice"]
    sms = rows[1]
    assert (sms["set by"], sms["limit"], sms["used"], sms["remaining"]) == (
        "user",
        "100",
        "100",
        "0",
    )
    assert sms["user"].lower().startswith("uid=")


def test_reserve_reports_used_and_limit_and_release_gives_back(
    servers: list[RunningServer],
) -> None:
    connection = connect(servers[0])
    code, value = extended(connection, RESERVE, request_value(USER, FAX, 3))
    assert code == 0
    assert value is not None
    assert decode(value) == [1, 3, 50]
    code, value = extended(connection, RELEASE, request_value(USER, FAX, 5))
    assert code == 0
    assert value is not None
    assert decode(value) == [0]  # never below zero


def test_a_user_may_not_reserve_and_an_unknown_user_is_no_such_object(
    servers: list[RunningServer],
) -> None:
    admin = connect(servers[1])
    assert extended(admin, RESERVE, request_value(f"uid=nobody,ou=people,{BASE_DN}", FAX))[0] == 32
    assert extended(admin, RESERVE, b"\x30\x03\x04\x01")[0] == 2  # malformed value
    anonymous = ldap3.Connection(
        ldap3.Server(servers[1].host, port=servers[1].port, get_info=ldap3.NONE), auto_bind=True
    )
    anonymous.extended(RESERVE, request_value(USER, FAX))
    assert anonymous.result["result"] == 50


def test_root_dse_advertises_reserve_and_release(servers: list[RunningServer]) -> None:
    found = servers[0].ldap("ldapsearch", "-b", "", "-s", "base", "supportedExtension", bind=False)
    assert RESERVE in found.stdout
    assert RELEASE in found.stdout


def test_counts_are_readable_as_operational_attributes(servers: list[RunningServer]) -> None:
    """ixiSmsSentToday is computed on read: asked by name or with '+'."""
    connection = connect(servers[0])
    assert extended(connection, RESERVE, request_value(USER, SMS, 2))[0] == 0
    by_name = servers[1].ldap("ldapsearch", "-b", USER, "-s", "base", "ixiSmsSentToday")
    assert "ixiSmsSentToday: 2" in by_name.stdout
    everything = servers[1].ldap("ldapsearch", "-b", USER, "-s", "base", "+")
    assert "ixiFaxSentToday:" in everything.stdout
    assert "ixiCanonicalNumber: 4981424799123" in everything.stdout
