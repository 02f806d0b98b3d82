"""A pipelined LDAP load generator for the Messaging Connector's routing search (issue 3 item 7).

Every request is `(facsimileTelephoneNumber=+<digits>)` under ou=people asking for `mail`, the
search the connector sends per message. Requests are encoded once with ldaptor (only the
message ID is spliced in per send); responses are read with a minimal BER walk, and every answer
is checked: exactly one entry, carrying the mail datagen gave that number. C connections keep D
requests in flight each, spread over W worker processes (fork) whose figures are summed; each
reports its own CPU time so a reader sees whether the generator, not the server, was the limit.

    python benchmarks/loadgen.py --port 3890 --users 10000 --connections 8 --depth 16 --seconds 5
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import multiprocessing
import random
import selectors
import socket
import statistics
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from datagen import users
from dataset import ADMIN_DN, ADMIN_PASSWORD, PEOPLE
from ldaptor.protocols import pureldap
from processes import cpu_seconds_of, process_tree

ROUTING_ATTRIBUTE = "facsimileTelephoneNumber"
LATE_WARNING_SECONDS = 0.05
CPU_SAMPLE_SECONDS = 1.0  # the server's CPU per answer is taken per interval, then the median
_BIND_ID = 1
_RECV_BYTES = 1 << 16
_TAG_SEQUENCE = 0x30
_TAG_BIND_RESPONSE = 0x61
_TAG_SEARCH_ENTRY = 0x64
_TAG_SEARCH_DONE = 0x65


@dataclass(frozen=True, slots=True)
class Query:
    """A called number as the kernel sends it (+digits) and the mail it must route to."""

    number: str
    mail: bytes


def fair_queries(count: int) -> list[Query]:
    """Numbers slapd's telephoneNumberMatch can match too: stored with spaces/hyphens only.

    slapd removes only spaces and hyphens (SCHEMA.md); a stored `(8142)` or `(0)` never equals
    the kernel's `+digits`, so those numbers would measure misses, not routing.
    """
    return _shuffled(q for stored, q in _all_queries(count) if "(" not in stored)


def parenthesized_queries(count: int) -> list[Query]:
    """Numbers stored with parentheses: ixidir routes them, slapd cannot (a correctness count)."""
    return _shuffled(q for stored, q in _all_queries(count) if "(" in stored)


def _all_queries(count: int) -> Iterator[tuple[str, Query]]:
    for user in users(count):
        for stored, key in zip(user.numbers, user.keys, strict=True):
            yield stored, Query(f"+{key}", user.mail.encode())


def _shuffled(queries: Iterator[Query]) -> list[Query]:
    pool = list(queries)
    random.Random(4511).shuffle(pool)  # deterministic: both servers see the same sequence
    return pool


# --- encoding ---------------------------------------------------------------------------------


def _ber_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _message(message_id: int, operation: bytes) -> bytes:
    """LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp } (RFC 4511 §4.1.1)."""
    integer = message_id.to_bytes((message_id.bit_length() + 8) // 8, "big", signed=True)
    body = b"\x02" + bytes([len(integer)]) + integer + operation
    return bytes([_TAG_SEQUENCE]) + _ber_length(len(body)) + body


def search_operation(number: str) -> bytes:
    """The searchRequest protocolOp for one number, encoded by ldaptor."""
    matcher = pureldap.LDAPFilter_equalityMatch(
        attributeDesc=pureldap.LDAPAttributeDescription(value=ROUTING_ATTRIBUTE),
        assertionValue=pureldap.LDAPAssertionValue(value=number),
    )
    request = pureldap.LDAPSearchRequest(
        baseObject=PEOPLE, scope=2, derefAliases=0, sizeLimit=0, timeLimit=0, typesOnly=0,
        filter=matcher, attributes=["mail"],
    )  # fmt: skip
    encoded: bytes = request.toWire()
    return encoded


def bind_message(dn: str, password: str) -> bytes:
    encoded: bytes = pureldap.LDAPMessage(
        pureldap.LDAPBindRequest(dn=dn, auth=password), id=_BIND_ID
    ).toWire()
    return encoded


def spaced(number: str, variant: int) -> str:
    """The number with `1 + variant // 13` spaces after digit `1 + variant % 13`.

    Variant 0, 1, ... are distinct spellings of one number that slapd's telephoneNumberMatch
    and ixidir both match (spaces are insignificant; the kernel sends some, "even two in a row"),
    so a run can send every request only once and no answer cache can serve it.
    """
    gap = 1 + variant % 13
    return number[: gap + 1] + " " * (1 + variant // 13) + number[gap + 1 :]


class _Encoder:
    """searchRequest bytes for any number, from ldaptor templates, one per value length.

    ldaptor takes about 66 us per request, too slow to encode 100k+ numbers before each run or
    a new spelling per request. BER lengths depend only on the value's length, so splicing the
    value into ldaptor's encoding of a same-length placeholder gives ldaptor's bytes; checked
    against ldaptor when the encoder is made.
    """

    def __init__(self, sample: str) -> None:
        self.templates: dict[int, tuple[bytes, bytes]] = {}
        for variant in (0, 13, 27):
            value = spaced(sample, variant)
            if self(value) != search_operation(value):
                raise RuntimeError("a spliced request differs from ldaptor's encoding")

    def __call__(self, value: str) -> bytes:
        template = self.templates.get(len(value))
        if template is None:
            placeholder = "#" * len(value)
            template = (search_operation(placeholder), placeholder.encode())
            self.templates[len(value)] = template
        encoded, placeholder_bytes = template
        return encoded.replace(placeholder_bytes, value.encode())


class _Requests:
    """Request number `cursor` -> (query index, encoded searchRequest protocolOp).

    Fixed: the +digits form, encoded once per number, the pool repeating after len(queries).
    Unique: a new spelling on every pass over the pool (`spaced`), so no request repeats.
    """

    def __init__(self, queries: Sequence[Query], *, unique: bool) -> None:
        self.queries = queries
        self.unique = unique
        self.encode = _Encoder(queries[0].number)
        self.fixed = [] if unique else [self.encode(q.number) for q in queries]

    def __call__(self, cursor: int) -> tuple[int, bytes]:
        index = cursor % len(self.queries)
        if not self.unique:
            return index, self.fixed[index]
        variant = cursor // len(self.queries)
        return index, self.encode(spaced(self.queries[index].number, variant))


# --- decoding: just enough BER to frame messages and read the fields we check ------------------


def _read_length(data: bytes | bytearray, at: int) -> tuple[int, int] | None:
    """(length, offset of the contents) of the TLV whose length octets start at `at`."""
    if at >= len(data):
        return None
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if at + 1 + count > len(data):
        return None
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of a complete TLV inside one message."""
    length_at = _read_length(data, at + 1)
    if length_at is None:
        raise ValueError(f"truncated BER at {at}")
    length, start = length_at
    return data[at], start, start + length


def split_messages(buffer: bytearray) -> Iterator[bytes]:
    """Yield each complete LDAPMessage in `buffer` and remove it; a partial tail stays."""
    at = 0
    while True:
        length_at = _read_length(buffer, at + 1)
        if length_at is None or length_at[1] + length_at[0] > len(buffer):
            break
        end = length_at[1] + length_at[0]
        yield bytes(buffer[at:end])
        at = end
    del buffer[:at]


def parse_message(message: bytes) -> tuple[int, int, bytes | int]:
    """(message ID, protocolOp tag, mail value for an entry / resultCode for a response)."""
    _, start, _ = _tlv(message, 0)
    _, id_start, id_end = _tlv(message, start)
    message_id = int.from_bytes(message[id_start:id_end], "big", signed=True)
    tag, op_start, _ = _tlv(message, id_end)
    if tag == _TAG_SEARCH_ENTRY:
        return message_id, tag, _first_value(message, op_start)
    # LDAPResult starts with resultCode ENUMERATED (RFC 4511 §4.1.9).
    _, code_start, code_end = _tlv(message, op_start)
    return message_id, tag, int.from_bytes(message[code_start:code_end], "big")


def _first_value(message: bytes, at: int) -> bytes:
    """The first value of the first attribute of a SearchResultEntry (we asked for mail only)."""
    _, _, name_end = _tlv(message, at)  # objectName
    _, attrs_start, attrs_end = _tlv(message, name_end)
    if attrs_start == attrs_end:
        return b""
    _, attr_start, _ = _tlv(message, attrs_start)
    _, type_start, type_end = _tlv(message, attr_start)
    if message[type_start:type_end].lower() != b"mail":
        return b""
    _, vals_start, vals_end = _tlv(message, type_end)
    if vals_start == vals_end:
        return b""
    _, value_start, value_end = _tlv(message, vals_start)
    return message[value_start:value_end]


# --- the load loop ---------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Outcome counts and latencies of one worker (ns); summed over workers."""

    ok: int = 0
    missing: int = 0  # no entry: the server cannot route the number
    wrong: int = 0  # more than one entry, or another mail
    failed: int = 0  # resultCode other than success
    latencies: array[int] = field(default_factory=lambda: array("q"))
    finished: array[int] = field(default_factory=lambda: array("q"))  # perf_counter_ns
    started: float = 0.0
    ended: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def answers(self) -> int:
        return self.ok + self.missing + self.wrong + self.failed


@dataclass(frozen=True, slots=True)
class Plan:
    """What one worker does: its connections, depth, request budget or deadline, and queries."""

    host: str
    port: int
    connections: int
    depth: int
    requests: int | None
    seconds: float | None
    queries: Sequence[Query]
    offset: int  # this worker's first request number; it then steps by `stride`
    stride: int = 1
    unique: bool = False


class _Pending:
    """One request in flight: when it was sent, the mail it must find, what came back so far."""

    __slots__ = ("entries", "mail", "seen", "sent")

    def __init__(self, sent: int, mail: bytes) -> None:
        self.sent = sent
        self.mail = mail
        self.entries = 0
        self.seen = b""


class _Connection:
    __slots__ = ("buffer", "next_id", "pending", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.next_id = _BIND_ID + 1
        self.pending: dict[int, _Pending] = {}


def _connect(host: str, port: int) -> _Connection:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(bind_message(ADMIN_DN, ADMIN_PASSWORD))
    buffer = bytearray()
    while True:
        chunk = sock.recv(_RECV_BYTES)
        if not chunk:
            raise ConnectionError("the server closed the connection during bind")
        buffer += chunk
        for message in split_messages(buffer):
            _, tag, code = parse_message(message)
            if tag != _TAG_BIND_RESPONSE or code != 0:
                raise ConnectionError(f"bind failed: tag {tag:#x}, resultCode {code!r}")
            return _Connection(sock)


def run_worker(plan: Plan, ready: Callable[[], object] = lambda: None) -> Tally:
    """Drive this worker's connections until its budget or deadline; the figures it saw."""
    operations = _Requests(plan.queries, unique=plan.unique)
    connections = [_connect(plan.host, plan.port) for _ in range(plan.connections)]
    tally = Tally()
    cursor = plan.offset
    budget = plan.requests if plan.requests is not None else 1 << 62
    ready()  # every worker has encoded its pool, connected and bound: start together
    cpu_before = time.process_time()
    tally.started = time.monotonic()
    deadline = tally.started + plan.seconds if plan.seconds is not None else float("inf")
    selector = selectors.DefaultSelector()
    for connection in connections:
        selector.register(connection.sock, selectors.EVENT_READ, connection)
        _, cursor, budget = _send(connection, plan, operations, cursor, budget, plan.depth)
    outstanding = sum(len(c.pending) for c in connections)
    while outstanding:
        if time.monotonic() >= deadline:
            budget = 0
        for key, _ in selector.select():
            connection = key.data
            done = _receive(connection, tally)
            if done:
                _, cursor, budget = _send(connection, plan, operations, cursor, budget, done)
        outstanding = sum(len(c.pending) for c in connections)
    tally.ended = time.monotonic()
    tally.cpu_seconds = time.process_time() - cpu_before
    for connection in connections:
        selector.unregister(connection.sock)
        connection.sock.close()
    return tally


def _send(
    connection: _Connection,
    plan: Plan,
    operations: _Requests,
    cursor: int,
    budget: int,
    count: int,
) -> tuple[int, int, int]:
    """Send up to `count` new requests in one write; returns (sent, cursor, budget left)."""
    count = min(count, budget)
    if count <= 0:
        return 0, cursor, budget
    chunks = []
    now = time.perf_counter_ns()
    for _ in range(count):
        index, operation = operations(cursor)
        cursor += plan.stride
        message_id = connection.next_id
        connection.next_id += 1
        connection.pending[message_id] = _Pending(now, plan.queries[index].mail)
        chunks.append(_message(message_id, operation))
    connection.sock.sendall(b"".join(chunks))
    return count, cursor, budget - count


def _receive(connection: _Connection, tally: Tally) -> int:
    """Read what arrived, check finished answers into `tally`; returns how many finished."""
    chunk = connection.sock.recv(_RECV_BYTES)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    connection.buffer += chunk
    finished = 0
    for message in split_messages(connection.buffer):
        message_id, tag, value = parse_message(message)
        state = connection.pending[message_id]
        if tag == _TAG_SEARCH_ENTRY:
            state.entries += 1
            state.seen = value if isinstance(value, bytes) else b""
            continue
        del connection.pending[message_id]
        now = time.perf_counter_ns()
        tally.latencies.append(now - state.sent)
        tally.finished.append(now)
        finished += 1
        if tag != _TAG_SEARCH_DONE or value != 0:
            tally.failed += 1
        elif state.entries == 0:
            tally.missing += 1
        elif state.entries == 1 and state.seen == state.mail:
            tally.ok += 1
        else:
            tally.wrong += 1
    return finished


# --- running workers and summing their figures ------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Summed figures of one run; `client_cpu_share` is generator CPU / (wall x cores)."""

    connections: int
    depth: int
    workers: int
    answers: int
    ok: int
    missing: int
    wrong: int
    failed: int
    seconds: float
    ops_per_second: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    client_cpu_seconds: float
    server_cpu_seconds: float | None  # the server's processes, workers included
    late_seconds: float  # spread of the workers' start times; above ~0.05 s figures are skewed
    # median over CPU_SAMPLE_SECONDS intervals of the server's CPU / answers finished in them
    server_us_per_answer: float | None = None

    @property
    def is_all_ok(self) -> bool:
        return self.ok == self.answers and self.answers > 0

    def describe(self) -> str:
        server = (
            ""
            if self.server_cpu_seconds is None
            else f", server CPU {self.server_cpu_seconds:.1f} s"
        )
        if self.server_us_per_answer is not None:
            server += f" ({self.server_us_per_answer:.1f} us/answer, median per interval)"
        return (
            f"{self.connections} conn x {self.depth} in flight ({self.workers} workers): "
            f"{self.ops_per_second:,.0f} ops/s, "
            f"p50 {self.p50_ms:.3f} ms, p99 {self.p99_ms:.3f} ms, p99.9 {self.p999_ms:.3f} ms; "
            f"{self.answers} answers: ok {self.ok}, missing {self.missing}, "
            f"wrong {self.wrong}, failed {self.failed}; {self.seconds:.1f} s wall, "
            f"client CPU {self.client_cpu_seconds:.1f} s"
            f"{server}{self._lateness()}"
        )

    def _lateness(self) -> str:
        if self.late_seconds <= LATE_WARNING_SECONDS:
            return ""
        return f"; WARNING: workers began {self.late_seconds:.2f} s apart, figures skewed"


def run_load(
    port: int,
    queries: Sequence[Query],
    *,
    connections: int,
    depth: int,
    workers: int = 1,
    requests: int | None = None,
    seconds: float | None = None,
    server_pid: int | None = None,
    host: str = "127.0.0.1",
    unique: bool = False,
    first: int = 0,
) -> LoadResult:
    """Run C connections x D in flight over W processes for a request budget or a duration.

    `first` is the first request number: a unique run that starts at `next_first` of the run
    before it sends spellings no earlier run sent. With `server_pid`, the server's CPU time
    (its process and its children, i.e. ixidir's workers) is sampled while the load runs.
    """
    if (requests is None) == (seconds is None):
        raise ValueError("give exactly one of requests= and seconds=")
    workers = max(1, min(workers, connections))
    plans = [
        Plan(
            host=host,
            port=port,
            connections=_share(connections, workers, w),
            depth=depth,
            requests=None if requests is None else _share(requests, workers, w),
            seconds=seconds,
            queries=queries,
            offset=first + w,
            stride=workers,
            unique=unique,
        )
        for w in range(workers)
    ]
    sampler = None if server_pid is None else _CpuSampler(server_pid)
    tallies = [run_worker(plans[0])] if workers == 1 else _run_processes(plans)
    samples = [] if sampler is None else sampler.stop()
    return _summed(tallies, connections, depth, samples)


def next_first(first: int, result: LoadResult, pool: int) -> int:
    """The `first` for the next unique run: the start of a pass over the pool of POOL queries
    that the run which began at FIRST did not reach (so it sends new spellings)."""
    return first + (result.answers // pool + 1) * pool


class _CpuSampler:
    """The server's CPU seconds (all its processes) every CPU_SAMPLE_SECONDS, from a thread.

    The process tree is read once; each sample then reads only those few /proc files, so the
    sampler costs the measuring process microseconds a second.
    """

    def __init__(self, pid: int) -> None:
        self.pids = process_tree(pid)
        self.samples: list[tuple[int, float]] = []
        self.done = threading.Event()
        self._sample()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        self.samples.append((time.perf_counter_ns(), cpu_seconds_of(self.pids)))

    def _run(self) -> None:
        while not self.done.wait(CPU_SAMPLE_SECONDS):
            self._sample()

    def stop(self) -> list[tuple[int, float]]:
        self.done.set()
        self.thread.join()
        self._sample()
        return self.samples


def _run_processes(plans: Sequence[Plan]) -> list[Tally]:
    """One forked process per plan; a barrier makes them start measuring together."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(plans))
    results: multiprocessing.Queue[Tally] = context.Queue()
    processes = [
        context.Process(target=_worker_process, args=(plan, barrier, results), daemon=True)
        for plan in plans
    ]
    for process in processes:
        process.start()
    tallies = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return tallies


def _worker_process(plan: Plan, barrier: Any, results: multiprocessing.Queue[Tally]) -> None:
    results.put(run_worker(plan, barrier.wait))


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _us_per_answer(samples: Sequence[tuple[int, float]], finished: Sequence[int]) -> float | None:
    """Median over the sampled intervals of server CPU / answers finished in the interval
    (the last, partial interval and intervals without answers are left out)."""
    ratios = []
    for (start, cpu_start), (end, cpu_end) in itertools.pairwise(samples[:-1]):
        answers = bisect.bisect_left(finished, end) - bisect.bisect_left(finished, start)
        if answers:
            ratios.append((cpu_end - cpu_start) / answers * 1e6)
    return statistics.median(ratios) if ratios else None


def _summed(
    tallies: Sequence[Tally],
    connections: int,
    depth: int,
    samples: Sequence[tuple[int, float]],
) -> LoadResult:
    latencies = sorted(value for tally in tallies for value in tally.latencies)
    finished = sorted(value for tally in tallies for value in tally.finished)
    seconds = max(t.ended for t in tallies) - min(t.started for t in tallies)
    answers = sum(t.answers for t in tallies)
    return LoadResult(
        connections=connections,
        depth=depth,
        workers=len(tallies),
        answers=answers,
        ok=sum(t.ok for t in tallies),
        missing=sum(t.missing for t in tallies),
        wrong=sum(t.wrong for t in tallies),
        failed=sum(t.failed for t in tallies),
        seconds=seconds,
        ops_per_second=answers / seconds if seconds > 0 else 0.0,
        p50_ms=_percentile(latencies, 0.50) / 1e6,
        p99_ms=_percentile(latencies, 0.99) / 1e6,
        p999_ms=_percentile(latencies, 0.999) / 1e6,
        client_cpu_seconds=sum(t.cpu_seconds for t in tallies),
        late_seconds=max(t.started for t in tallies) - min(t.started for t in tallies),
        server_cpu_seconds=samples[-1][1] - samples[0][1] if samples else None,
        server_us_per_answer=_us_per_answer(samples, finished),
    )


def _percentile(ordered: Sequence[int], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return float(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, required=True, help="datagen size the server holds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--requests", type=int)
    budget.add_argument("--seconds", type=float)
    parser.add_argument(
        "--parenthesized", action="store_true", help="query the numbers stored with parentheses"
    )
    parser.add_argument("--server-pid", type=int)
    parser.add_argument(
        "--unique", action="store_true", help="never repeat a request (spaced spellings)"
    )
    args = parser.parse_args()
    queries = parenthesized_queries(args.users) if args.parenthesized else fair_queries(args.users)
    result = run_load(
        args.port, queries, connections=args.connections, depth=args.depth, workers=args.workers,
        requests=args.requests, seconds=args.seconds, server_pid=args.server_pid,
        unique=args.unique,
    )  # fmt: skip
    print(result.describe())


if __name__ == "__main__":
    main()
