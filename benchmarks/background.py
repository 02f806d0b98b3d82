"""Background clients for the mixed-load and storm benchmarks, each in its own process.

Each client sends one kind of request, one at a time, paced at a fixed rate (or back to back),
and checks every answer:

- `binds`: a new connection per bind, as a random user with that user's password (the users'
  `{SSHA}` userPassword, datagen.password); must succeed.
- `wrong-binds`: a new connection per bind from the second loopback address (127.0.0.2, the
  attacker's own), as one user (`STORM_UID`) with a wrong password; must be refused with
  invalidCredentials (49), or, by ixidir once that address is blocked (issue 12's address
  throttle), unwillingToPerform (53). Not the administrator: ixidir locks an account after 5
  wrong passwords, and the routing clients bind as the administrator.
- `modifies`: one connection bound as the administrator, replacing a random user's
  `description`; must succeed.
- `reservations` (ixidir only): one administrator connection sending the daily-limit reserve
  extended operation (limits_ldap.py) for a random user; must succeed with `granted` TRUE.

The clients run in their own processes so the load generator measuring routing is not slowed by
them; they stop when told, and by themselves after `max_seconds`.
"""

from __future__ import annotations

import multiprocessing
import random
import socket
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from datagen import password
from dataset import ADMIN_DN, ADMIN_PASSWORD, PEOPLE
from ldaptor import delta
from ldaptor.protocols import pureber, pureldap
from limits_ldap import RESERVE, request_value
from loadgen import LoadResult, Query, bind_message, parse_message, run_load, split_messages

INVALID_CREDENTIALS = 49
UNWILLING_TO_PERFORM = 53
REFUSED = (INVALID_CREDENTIALS, UNWILLING_TO_PERFORM)
# The user the storm guesses passwords for (locked by ixidir after 5; with --keep it stays
# locked for ixiBindLockout, 10 minutes), and the address it guesses from.
STORM_UID = "u0000000"
ATTACKER_ADDRESS = "127.0.0.2"
_SUCCESS = 0
_TAG_BIND, _TAG_MODIFY, _TAG_EXTENDED = 0x61, 0x67, 0x78  # [APPLICATION n] responses
_RECV_BYTES = 1 << 16
_CATCH_UP_SECONDS = 1.0  # a client this far behind its schedule drops the backlog
_SAMPLE_ERRORS = 3
_START_SECONDS = 30.0
_STOP_SECONDS = 30.0  # a bind may wait behind a slow server's other work
_SETTLE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Client:
    kind: str  # "binds", "wrong-binds", "modifies" or "reservations"
    rate: float | None  # requests per second; None: back to back


@dataclass(slots=True)
class ClientResult:
    kind: str
    done: int = 0
    expected: int = 0  # answered as the kind requires
    errors: list[str] = field(default_factory=list)  # the first few unexpected answers
    seconds: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))  # ms

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def all_expected(self) -> bool:
        return self.done == self.expected

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def describe(self) -> str:
        bad = (
            "" if self.all_expected else f", UNEXPECTED {self.done - self.expected}: {self.errors}"
        )
        return (
            f"{self.kind}: {self.done} in {self.seconds:.1f} s ({self.rate:.1f}/s), "
            f"p50 {self.percentile_ms(0.5):.2f} ms, p99 {self.percentile_ms(0.99):.2f} ms{bad}"
        )


# --- one request and its answer ------------------------------------------------------------


class _Link:
    """A blocking LDAP connection to 127.0.0.1 that sends a message and reads its answer."""

    def __init__(self, port: int, source: str | None = None) -> None:
        address = None if source is None else (source, 0)
        self.sock = socket.create_connection(("127.0.0.1", port), source_address=address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self.next_id = 2

    def ask(self, message: bytes) -> bytes:
        """Send MESSAGE and return the next message the server sends (one request at a time)."""
        self.sock.sendall(message)
        while True:
            answers = list(split_messages(self.buffer))  # the generator trims the buffer at its end
            if len(answers) > 1:
                raise ConnectionError(f"{len(answers)} answers to one request")
            if answers:
                return answers[0]
            chunk = self.sock.recv(_RECV_BYTES)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk

    def request(self, operation: Any) -> bytes:
        message: bytes = pureldap.LDAPMessage(operation, id=self.next_id).toWire()
        self.next_id += 1
        return self.ask(message)

    def close(self) -> None:
        self.sock.close()


def _bind(
    port: int, dn: str, secret: str, expected: Sequence[int], source: str | None = None
) -> str | None:
    """One bind on a new connection (from SOURCE); None when its resultCode is an expected one."""
    link = _Link(port, source)
    try:
        code = _result_code(link.ask(bind_message(dn, secret)), _TAG_BIND)
        link.sock.sendall(pureldap.LDAPMessage(pureldap.LDAPUnbindRequest(), id=2).toWire())
    finally:
        link.close()
    return None if code in expected else f"bind {dn}: resultCode {code!r}"


def _result_code(answer: bytes, tag: int) -> int | bytes | str:
    """The resultCode of ANSWER, or what was wrong when it is no response of type TAG."""
    _, actual, code = parse_message(answer)
    return code if actual == tag else f"a response with tag {actual:#x} instead of {tag:#x}"


def _granted(answer: bytes) -> bool:
    """The `granted` BOOLEAN of a ReserveResponseValue (limits_ext.py) in an extendedResponse."""
    context = pureldap.LDAPBERDecoderContext_TopLevel(
        inherit=pureldap.LDAPBERDecoderContext_LDAPMessage(
            fallback=pureldap.LDAPBERDecoderContext(fallback=pureber.BERDecoderContext()),
            inherit=pureldap.LDAPBERDecoderContext(fallback=pureber.BERDecoderContext()),
        )
    )
    message, _ = pureber.berDecodeObject(context, answer)
    value = getattr(message.value, "response", None)
    if not isinstance(value, bytes):
        return False
    sequence, _ = pureber.berDecodeObject(pureber.BERDecoderContext(), value)
    return bool(sequence.data[0].value)


def _operation(
    kind: str, port: int, users: int
) -> tuple[Callable[[], str | None], Callable[[], None]]:
    """(one request -> None or what was unexpected, close) for a client of KIND."""
    rng = random.Random(f"{kind}-{port}")

    def user_dn() -> tuple[str, str]:
        uid = f"u{rng.randrange(users):07d}"  # datagen's uid format
        return uid, f"uid={uid},{PEOPLE}"

    if kind == "binds":

        def bind_user() -> str | None:
            uid, dn = user_dn()
            return _bind(port, dn, password(uid), (_SUCCESS,))

        return bind_user, lambda: None
    if kind == "wrong-binds":
        target = f"uid={STORM_UID},{PEOPLE}"
        return lambda: _bind(
            port, target, "wrong-password", REFUSED, ATTACKER_ADDRESS
        ), lambda: None
    link = _Link(port)
    code = _result_code(link.ask(bind_message(ADMIN_DN, ADMIN_PASSWORD)), _TAG_BIND)
    if code != _SUCCESS:
        raise ConnectionError(f"administrator bind failed: resultCode {code!r}")
    counter = iter(range(1 << 62))
    if kind == "modifies":

        def modify() -> str | None:
            _, dn = user_dn()
            change = delta.Replace("description", [f"mixed load {next(counter)}"]).asLDAP()
            answer = link.request(pureldap.LDAPModifyRequest(dn, [change]))
            code = _result_code(answer, _TAG_MODIFY)
            return None if code == _SUCCESS else f"modify {dn}: resultCode {code!r}"

        return modify, link.close
    if kind == "reservations":

        def reserve() -> str | None:
            _, dn = user_dn()
            request = pureldap.LDAPExtendedRequest(
                requestName=RESERVE, requestValue=request_value(dn)
            )
            answer = link.request(request)
            code = _result_code(answer, _TAG_EXTENDED)
            if code != _SUCCESS:
                return f"reserve {dn}: resultCode {code!r}"
            return None if _granted(answer) else f"reserve {dn}: not granted"

        return reserve, link.close
    raise ValueError(f"unknown client kind {kind!r}")


# --- the client processes --------------------------------------------------------------------


def _client_process(
    client: Client,
    port: int,
    users: int,
    max_seconds: float,
    ready: Any,
    stop: Any,
    results: multiprocessing.Queue[ClientResult],
) -> None:
    result = ClientResult(client.kind)
    send, close = _operation(client.kind, port, users)
    ready.release()
    interval = 0.0 if client.rate is None else 1.0 / client.rate
    started = time.monotonic()
    due = started
    try:
        while not stop.is_set() and time.monotonic() - started < max_seconds:
            now = time.monotonic()
            if due > now:
                if stop.wait(due - now):
                    break
            elif now - due > _CATCH_UP_SECONDS:
                due = now
            due += interval
            begun = time.perf_counter()
            try:
                error = send()
            except (OSError, ValueError) as exc:  # ConnectionError is an OSError
                error = f"{type(exc).__name__}: {exc}"
            result.latencies.append((time.perf_counter() - begun) * 1000)
            result.done += 1
            if error is None:
                result.expected += 1
            elif len(result.errors) < _SAMPLE_ERRORS:
                result.errors.append(error)
    finally:
        result.seconds = time.monotonic() - started
        close()
        results.put(result)


class Background:
    """Start CLIENTS against PORT (each its own process) and wait until all are connected;
    `stop()` ends them and returns their results. As a context manager it always ends them."""

    def __init__(
        self, port: int, users: int, clients: Sequence[Client], *, max_seconds: float
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.stop_event = context.Event()
        self.results: multiprocessing.Queue[ClientResult] = context.Queue()
        ready = context.Semaphore(0)
        self.processes = [
            context.Process(
                target=_client_process,
                args=(client, port, users, max_seconds, ready, self.stop_event, self.results),
                daemon=True,
            )
            for client in clients
        ]
        for process in self.processes:
            process.start()
        self.collected: list[ClientResult] | None = None
        deadline = time.monotonic() + _START_SECONDS
        started = 0
        while started < len(self.processes):
            if ready.acquire(timeout=0.2):
                started += 1
            elif time.monotonic() > deadline or any(p.exitcode for p in self.processes):
                self.__exit__()
                raise RuntimeError("a background client failed to connect (see its traceback)")

    def stop(self) -> list[ClientResult]:
        """End the clients; their results, sorted by kind."""
        if self.collected is None:
            self.stop_event.set()
            collected = [self.results.get(timeout=_STOP_SECONDS) for _ in self.processes]
            self.__exit__()
            self.collected = sorted(collected, key=lambda r: r.kind)
        return self.collected

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for process in self.processes:
            process.join(timeout=_STOP_SECONDS)
            if process.is_alive():
                process.terminate()


# --- routing measured while clients run --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    """One measured phase on one server: the routing figures and the clients' results."""

    server: str
    name: str
    routing: LoadResult
    clients: list[ClientResult]

    def describe(self) -> str:
        lines = [f"  {self.server:6} {self.name}: {self.routing.describe()}"]
        lines += [f"{'':10}{client.describe()}" for client in self.clients]
        return "\n".join(lines)

    def client(self, kind: str) -> ClientResult | None:
        return next((c for c in self.clients if c.kind == kind), None)


def routing_under(
    server: str,
    name: str,
    port: int,
    users: int,
    queries: Sequence[Query],
    clients: Sequence[Client],
    *,
    seconds: float,
    unique: bool,
    first: int,
) -> Phase:
    """Routing look-ups on 1 connection x 1 in flight for SECONDS while CLIENTS run."""
    with Background(port, users, clients, max_seconds=seconds + _STOP_SECONDS) as background:
        if clients:
            time.sleep(_SETTLE_SECONDS)  # let the clients reach their pace first
        routing = run_load(
            port, queries, connections=1, depth=1, seconds=seconds, unique=unique, first=first
        )
        phase = Phase(server, name, routing, background.stop())
    print(phase.describe(), flush=True)
    return phase


def checks(phases: Sequence[Phase]) -> str:
    """One line: were all answers right (routing mail, bind/modify/reserve outcomes)?"""
    answers = sum(p.routing.answers for p in phases)
    wrong = sum(p.routing.answers - p.routing.ok for p in phases)
    requests = sum(c.done for p in phases for c in p.clients)
    unexpected = sum(c.done - c.expected for p in phases for c in p.clients)
    verdict = "all as expected" if wrong == 0 and unexpected == 0 and answers else "NOT ALL RIGHT"
    return (
        f"checked: {answers:,} routing answers ({wrong} wrong/missing/failed), "
        f"{requests:,} background requests ({unexpected} unexpected): {verdict}"
    )
