"""Write throughput over LDAP (issue 11 item 2): adds/s of ixidir and slapd in the same run, and
ixidir's daily-limit reservations/s, from 8 pipelined clients; plus the exactness check of
8 processes x 50 reservations against one user's limit of 100.

Each client is a process with one connection: it binds as the administrator, then keeps
`--depth` requests in flight until it has sent `--requests`. Every answer is checked (adds:
success; reservations: success and granted); anything else is counted and printed.

    python benchmarks/writes.py --clients 8 --depth 16 --requests 500
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap3
from datagen import users
from dataset import ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX
from ixidir_server import running_ixidir
from ldaptor.protocols import pureber, pureldap
from loadgen import bind_message, parse_message, split_messages
from slapd import running_slapd

RESERVE_OID = "2.25.36358030867219218258049950064569224190.3.1"
FAX, SMS = 0, 1  # SMS: no limit by default
_TAG_EXTENDED_RESPONSE = 0x78
_RESERVE_RESPONSE_VALUE = 0x8B  # [11] responseValue


def add_message(message_id: int, client: int, index: int) -> bytes:
    uid = f"w{client}x{index}"
    attributes = [
        ("objectClass", ["inetOrgPerson"]),
        ("uid", [uid]),
        ("cn", [f"Writer {client} {index}"]),
        ("sn", ["Writer"]),
        ("facsimileTelephoneNumber", [f"+49 30 {client + 1}{index:07d}"]),
    ]
    request = pureldap.LDAPAddRequest(
        entry=f"uid={uid},{PEOPLE}",
        attributes=[
            (
                pureldap.LDAPAttributeDescription(name),
                pureber.BERSet([pureldap.LDAPAttributeValue(v) for v in values]),
            )
            for name, values in attributes
        ],
    )
    encoded: bytes = pureldap.LDAPMessage(request, id=message_id).toWire()
    return encoded


def reserve_message(message_id: int, user_dn: str, service: int = SMS) -> bytes:
    value = pureber.BERSequence(
        [pureber.BEROctetString(user_dn.encode()), pureber.BEREnumerated(service)]
    )
    request = pureldap.LDAPExtendedRequest(requestName=RESERVE_OID, requestValue=value.toWire())
    encoded: bytes = pureldap.LDAPMessage(request, id=message_id).toWire()
    return encoded


def is_granted(message: bytes) -> bool:
    """The ReserveResponseValue's `granted`: the value is the message's last TLV,
    [11] { SEQUENCE { BOOLEAN granted, INTEGER used, INTEGER limit } } (short lengths)."""
    for at in range(len(message) - 2, 0, -1):
        size = message[at + 1]
        if message[at] == _RESERVE_RESPONSE_VALUE and size > 5 and at + 2 + size == len(message):
            return message[at + 6] != 0
    return False


_BOUND: Any = None  # the clients' barrier, set in each forked client (run_clients)


def pipelined(port: int, messages: list[bytes], depth: int) -> tuple[float, float, int, int]:
    """Send `messages` (IDs 2...) keeping `depth` in flight; (start, end, ok results, granted).

    Every client binds first and waits for the others at the barrier: the figure is the
    writes', not the administrator's password hash (PBKDF2 in ixidir, ~0.3 s a bind, where
    slapd's rootpw compares in clear)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(bind_message(ADMIN_DN, ADMIN_PASSWORD))
    buffer = bytearray()
    while not list(split_messages(buffer)):  # the bind's answer, taken out of the buffer
        buffer += sock.recv(65536)
    if _BOUND is not None:
        _BOUND.wait(timeout=60)
    started = time.time()
    sent = answered = ok = granted = 0
    while answered < len(messages):
        if sent < len(messages) and sent - answered < depth:
            batch = messages[sent : sent + depth - (sent - answered)]
            sock.sendall(b"".join(batch))
            sent += len(batch)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
        for message in split_messages(buffer):
            _, tag, code = parse_message(message)
            answered += 1
            ok += code == 0
            granted += tag == _TAG_EXTENDED_RESPONSE and code == 0 and is_granted(message)
    ended = time.time()
    sock.close()
    return started, ended, ok, granted


def run_clients(
    port: int, make: Callable[[int], list[bytes]], clients: int, depth: int
) -> tuple[float, int, int, int]:
    """(seconds from the first request to the last answer, requests, ok, granted)."""
    jobs = [(port, make(client), depth) for client in range(clients)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients)
    answers: multiprocessing.SimpleQueue[tuple[float, float, int, int]] = context.SimpleQueue()

    def client(job: tuple[int, list[bytes], int]) -> None:
        global _BOUND
        _BOUND = barrier
        answers.put(pipelined(*job))

    processes = [context.Process(target=client, args=(job,), daemon=True) for job in jobs]
    for process in processes:
        process.start()
    results = [answers.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = max(end for _, end, _, _ in results) - min(start for start, _, _, _ in results)
    total = sum(len(messages) for _, messages, _ in jobs)
    return elapsed, total, sum(r[2] for r in results), sum(r[3] for r in results)


def adds(port: int, clients: int, depth: int, requests: int) -> tuple[float, int, int]:
    def make(client: int) -> list[bytes]:
        return [add_message(index + 2, client, index) for index in range(requests)]

    elapsed, total, ok, _ = run_clients(port, make, clients, depth)
    return total / elapsed, total, ok


def set_fax_limit(port: int, user_dn: str, limit: int) -> None:
    server = ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE)
    with ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True) as connection:
        for dn, changes in (
            (f"cn=ums-defaults,{SUFFIX}", {"ixiDailyLimitEnabled": "TRUE"}),
            (user_dn, {"ixiFaxDailyLimitMode": "custom", "ixiFaxDailyLimit": str(limit)}),
        ):
            connection.modify(dn, {k: [(ldap3.MODIFY_REPLACE, [v])] for k, v in changes.items()})
            if connection.result["result"] != 0:
                raise RuntimeError(f"setting the limit failed: {connection.result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--depth", type=int, default=16, help="requests in flight per client")
    parser.add_argument("--requests", type=int, default=500, help="per client")
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument("--no-slapd", action="store_true")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    dns = [f"uid={user.uid},{PEOPLE}" for user in users(args.clients + 1)]
    shape = f"{args.clients} clients x {args.requests}, {args.depth} in flight each"
    with running_ixidir(args.users, data_dir=args.data) as ixidir:
        rate, total, ok = adds(ixidir.port, args.clients, args.depth, args.requests)
        print(f"ixidir adds ({shape}): {rate:,.0f}/s, {ok}/{total} succeeded")
        elapsed, total, ok, granted = run_clients(
            ixidir.port,
            lambda client: [reserve_message(i + 2, dns[client]) for i in range(args.requests)],
            args.clients,
            args.depth,
        )
        print(f"ixidir reservations ({shape}): {total / elapsed:,.0f}/s, {granted}/{total} granted")
        exact_user = dns[args.clients]
        set_fax_limit(ixidir.port, exact_user, 100)
        _, total, ok, granted = run_clients(
            ixidir.port,
            lambda _: [reserve_message(i + 2, exact_user, FAX) for i in range(50)],
            8,
            args.depth,
        )
        print(f"ixidir exactness: 8 x 50 reservations against a limit of 100: {granted} granted")
    if not args.no_slapd:
        with running_slapd(args.users, data_dir=args.data) as slapd:
            rate, total, ok = adds(slapd.port, args.clients, args.depth, args.requests)
            print(f"slapd adds ({shape}): {rate:,.0f}/s, {ok}/{total} succeeded")


if __name__ == "__main__":
    main()
