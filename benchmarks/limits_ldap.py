"""Daily-limit reservations over LDAP: reserve extended operations per second against a real
`ixidir serve` on the embedded database (issue 4 item 7; the in-process figure is
limits_bench.py).

Each client process binds once as the administrator and sends reservations one after another
(one unit of SMS for a user of its own), so every request is a durable Firebird commit.

    python benchmarks/limits_ldap.py --clients 4 --requests 500
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

import ldap3
from datagen import users
from dataset import ADMIN_PASSWORD, SUFFIX
from ixidir_server import running_ixidir
from ldaptor.protocols import pureber

RESERVE = "2.25.36358030867219218258049950064569224190.3.1"
SMS = 1


def request_value(user_dn: str) -> bytes:
    value: bytes = pureber.BERSequence(
        [pureber.BEROctetString(user_dn.encode()), pureber.BEREnumerated(SMS)]
    ).toWire()
    return value


def client(port: int, user_dn: str, requests: int) -> tuple[float, float, list[float]]:
    """One client: `requests` reservations; returns (first start, last end, latencies)."""
    server = ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE)
    connection = ldap3.Connection(server, f"cn=admin,{SUFFIX}", ADMIN_PASSWORD, auto_bind=True)
    value = request_value(user_dn)
    latencies = []
    first = time.time()
    for _ in range(requests):
        started = time.perf_counter()
        connection.extended(RESERVE, value)
        latencies.append(time.perf_counter() - started)
        if connection.result["result"] != 0:
            raise RuntimeError(f"reserve failed: {connection.result}")
    last = time.time()
    connection.unbind()
    return first, last, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=500, help="per client")
    args = parser.parse_args()
    dns = [f"uid={user.uid},ou=people,{SUFFIX}" for user in users(args.clients)]
    with (
        tempfile.TemporaryDirectory() as work,
        running_ixidir(args.users, data_dir=Path(work)) as ixidir,
    ):
        jobs = [(ixidir.port, dns[i], args.requests) for i in range(args.clients)]
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            results = pool.starmap(client, jobs)
    # Measured from the first reservation to the last: process start and binds are left out.
    elapsed = max(last for _, last, _ in results) - min(first for first, _, _ in results)
    latencies = sorted(latency for _, _, result in results for latency in result)
    total = len(latencies)
    p99 = latencies[int(total * 0.99) - 1] * 1000
    print(f"reserve over LDAP, {args.clients} clients x {args.requests} (embedded Firebird)")
    print(f"  {total / elapsed:,.0f} reservations/s ({total} in {elapsed:.1f} s)")
    print(f"  latency p50 {statistics.median(latencies) * 1000:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
