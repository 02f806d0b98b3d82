"""CPU per routing search through the server's request path, in process (no sockets, no loop).

The socket figures of idle.py mix three costs: the kernel's, Twisted's, and our layers'. This
loads a prepared data folder (`ixidir_server.py N --keep DIR`), builds the LDAPServerFactory as
`ixidir serve` does, binds as the administrator and feeds the connector's search PDUs to one
connection, one `dataReceived` each (1 x 1) or DEPTH at a time (a pipelined client), and prints
the CPU microseconds per answer of what is ours: protocol, codec, lane, directory. Every answer
is checked (one entry, the expected mail). `--profile` adds cProfile's top functions. The
directory is loaded as `ixidir serve` loads it (collector off, then what the load made frozen),
and a line counts the garbage collector's passes while the answers ran, per generation, with
their mean and longest pause.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time
from pathlib import Path

from dataset import ADMIN_DN, ADMIN_PASSWORD
from loadgen import _message, _Requests, bind_message, fair_queries, split_messages
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from ixidir.admin.runtime import opened
from ixidir.server.protocol import LDAPServerFactory, LDAPServerProtocol

ROUNDS = 5


def connect(factory: LDAPServerFactory) -> tuple[LDAPServerProtocol, StringTransport]:
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(bind_message(ADMIN_DN, ADMIN_PASSWORD))
    if b"\x0a\x01\x00" not in transport.value():
        raise SystemExit("the administrator's bind failed")
    transport.clear()
    return protocol, transport


def run(
    protocol: LDAPServerProtocol,
    transport: StringTransport,
    requests: list[tuple[bytes, bytes]],
    depth: int,
) -> float:
    """CPU seconds to answer `requests` (PDU, expected mail), `depth` per dataReceived."""
    chunks = [requests[at : at + depth] for at in range(0, len(requests), depth)]
    datas = [b"".join(pdu for pdu, _ in chunk) for chunk in chunks]
    started = time.process_time()
    for data in datas:
        protocol.dataReceived(data)
    spent = time.process_time() - started
    replies = bytearray(transport.value())
    transport.clear()
    check(replies, requests)
    return spent


def check(replies: bytearray, requests: list[tuple[bytes, bytes]]) -> None:
    messages = list(split_messages(replies))
    if len(messages) != 2 * len(requests):
        raise SystemExit(f"{len(messages)} replies to {len(requests)} searches")
    for (_, mail), entry in zip(requests, messages[0::2], strict=True):
        if mail not in entry:
            raise SystemExit(f"an answer lacks {mail!r}")


class _Pauses:
    """The garbage collector's passes, timed, per generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def record(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]].append(time.perf_counter() - self._started)

    def describe(self) -> str:
        parts = []
        for generation, pauses in self.seconds.items():
            if pauses:
                mean, longest = statistics.mean(pauses) * 1e6, max(pauses) * 1e6
                parts.append(
                    f"generation {generation}: {len(pauses)} passes, mean {mean:.0f} us,"
                    f" longest {longest:.0f} us"
                )
            else:
                parts.append(f"generation {generation}: no pass")
        return "garbage collector while answering: " + "; ".join(parts)


def collector_pauses() -> _Pauses:
    pauses = _Pauses()
    gc.callbacks.append(pauses.record)
    return pauses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a prepared ixidir data folder")
    parser.add_argument("--users", type=int, required=True, help="datagen size it holds")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--depth", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with opened(args.data) as site:
        factory = LDAPServerFactory(site.directory, reactor=Clock(), log_searches=False)
        pauses = collector_pauses()
        protocol, transport = connect(factory)
        queries = fair_queries(args.users)
        encode = _Requests(queries, unique=True)
        cursor = 0
        for repeats in (False, True):
            for depth in args.depth:
                figures = []
                for _ in range(ROUNDS):
                    batch = []
                    for number in range(args.requests):
                        index, operation = encode(cursor if not repeats else number)
                        cursor += 0 if repeats else 1
                        batch.append((_message(2 + number, operation), queries[index].mail))
                    figures.append(run(protocol, transport, batch, depth) / len(batch) * 1e6)
                label = "repeated" if repeats else "unique"
                print(
                    f"{label:8} depth {depth:2}: {statistics.median(figures):6.2f} us/answer"
                    f" (rounds {' '.join(f'{f:.2f}' for f in figures)})"
                )
        gc.callbacks.remove(pauses.record)
        print(pauses.describe())
        if args.profile:
            batch = []
            for number in range(args.requests):
                index, operation = encode(cursor)
                cursor += 1
                batch.append((_message(2 + number, operation), queries[index].mail))
            profile = cProfile.Profile()
            profile.enable()
            run(protocol, transport, batch, 1)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
