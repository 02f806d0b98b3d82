"""Parallel writers against a real `ixidir serve` (issue 11): group commit seen from ldap3 clients.

Eight clients in threads add entries at the same time, some claiming a fax number another
already holds; every add is answered, the refused ones alone with constraintViolation, and
every acknowledged add is read back at once by its own client and by another one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ldap3 import BASE, Connection, Server

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, RunningServer

PEOPLE = f"ou=people,{BASE_DN}"
CLIENTS, ADDS_EACH = 8, 12
TAKEN = "+49 30 5550000"  # claimed by the first add of every client: one of them wins


def connect(server: RunningServer) -> Connection:
    return Connection(
        Server(server.host, port=server.port, get_info="NO_INFO"),
        ADMIN_DN,
        ADMIN_PASSWORD,
        auto_bind=True,
    )


def writer(server: RunningServer, client: int) -> list[tuple[str, int, bool]]:
    """Add ADDS_EACH entries; (dn, result, read back at once by this client) for each."""
    connection = connect(server)
    outcomes = []
    for index in range(ADDS_EACH):
        dn = f"uid=par{client}x{index},{PEOPLE}"
        fax = TAKEN if index == 0 else f"+49 30 7{client:02d}{index:04d}"
        attributes = {"cn": f"P {client} {index}", "sn": "P", "facsimileTelephoneNumber": fax}
        connection.add(dn, ["inetOrgPerson"], attributes)
        code = connection.result["result"]
        connection.search(dn, "(objectClass=*)", BASE, attributes=["cn"])
        outcomes.append((dn, code, len(connection.entries) == 1))
    connection.unbind()
    return outcomes


def test_parallel_adds_are_all_answered_and_read_back(server: RunningServer) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for rs in pool.map(lambda c: writer(server, c), range(CLIENTS)) for r in rs]
    codes = [code for _, code, _ in results]
    assert codes.count(19) == CLIENTS - 1  # constraintViolation: the number has a holder
    assert codes.count(0) == CLIENTS * ADDS_EACH - (CLIENTS - 1)
    assert all(seen == (code == 0) for _, code, seen in results)  # own writes, at once
    reader = connect(server)
    reader.search(PEOPLE, "(uid=par*)", attributes=["uid"])
    assert len(reader.entries) == codes.count(0)
    reader.search(PEOPLE, "(facsimileTelephoneNumber=+49305550000)", attributes=["uid"])
    assert len(reader.entries) == 1
    reader.unbind()
