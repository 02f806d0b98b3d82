"""The Twisted adapter: bytes from a TCP connection through the codec into a Session and back.

Replies are written as the session produces them, coalesced into one `transport.write` per
batch; the protocol is a push producer, so a client that stops reading pauses its search
instead of growing our send buffer, and a long search yields to the reactor between turns so
an abandon (or other clients) gets through.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import chain, islice
from time import perf_counter_ns
from typing import cast

from twisted.internet.interfaces import IAddress, ISSLTransport
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from ixidir.directory.requests import AddRequest, ModifyDNRequest, ModifyRequest, SearchRequest
from ixidir.errors import ResultCode
from ixidir.server.admission import Admission, ConnectionLimits, IdleTimer
from ixidir.server.audit import AuditLog
from ixidir.server.bindguard import BindGuard
from ixidir.server.codec import CodecError, LDAPCodec, envelope
from ixidir.server.confidentiality import SimpleBindTLS, needs_tls
from ixidir.server.extended import ExtendedHandler, standard_handlers
from ixidir.server.facade import Directory
from ixidir.server.fastpath import AnswerCache, SearchFrame, is_stable, split_search, wrap
from ixidir.server.freshness import Freshness
from ixidir.server.interfaces import Clock, DelayedCall, Transport
from ixidir.server.lane import SUCCESS_DONE, RoutingLane
from ixidir.server.limits_ext import RELEASE_OID, RESERVE_OID
from ixidir.server.listen import format_address
from ixidir.server.messages import (
    NOTICE_OF_DISCONNECTION_OID,
    AbandonRequest,
    BindRequest,
    CompareRequest,
    DeleteRequest,
    ExtendedRequest,
    ExtendedResult,
    LDAPMessage,
    UnbindRequest,
)
from ixidir.server.metrics import (
    ADD,
    BIND,
    CODES,
    COMPARE,
    DELETE,
    EXTENDED,
    MODIFY,
    MODRDN,
    SEARCH,
    WorkerMetrics,
    done_code,
)
from ixidir.server.offload import InlineOffload, Offload
from ixidir.server.pdus import SearchReader
from ixidir.server.pending import Count, Pending, Write
from ixidir.server.sendnow import direct_socket, send_now
from ixidir.server.session import Outgoing, Reply, Session, StartTLS

# slapd accepts 4 MiB from bound clients; requests from real clients are a few hundred bytes,
# and a PDU is decoded on the reactor, so we default lower.
DEFAULT_MAX_PDU_SIZE = 1024 * 1024
WRITE_BATCH_BYTES = 64 * 1024  # coalesce small PDUs into writes of about this size
TURN_BYTES = 1024 * 1024  # then give the reactor a turn (abandon, other connections)
_WRITES = (AddRequest, ModifyRequest, DeleteRequest, ModifyDNRequest)
_COUNTS = frozenset({RESERVE_OID, RELEASE_OID})
RUN_AHEAD = 16  # pipelined writes queued for commit behind the one a connection waits for
# The metrics' operation slot of each request type (abandon and unbind have no result).
_OPERATION_OF: dict[type, int] = {
    BindRequest: BIND,
    SearchRequest: SEARCH,
    CompareRequest: COMPARE,
    AddRequest: ADD,
    ModifyRequest: MODIFY,
    DeleteRequest: DELETE,
    ModifyDNRequest: MODRDN,
    ExtendedRequest: EXTENDED,
}
_SUCCESS_DONE = SUCCESS_DONE  # how almost every cached answer ends: no parsing then


class LDAPServerFactory(Factory):
    """Builds one protocol per connection; holds what every connection shares."""

    def __init__(
        self,
        directory: Directory,
        *,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        reactor: Clock,
        log: Logger | None = None,
        tls: object | None = None,
        extended: Mapping[str, ExtendedHandler] | None = None,
        log_searches: bool = True,
        simple_bind_tls: SimpleBindTLS = SimpleBindTLS.NEVER,
        offload: Offload | None = None,
        limits: ConnectionLimits | None = None,
        audit: AuditLog | None = None,
        freshness: Freshness | None = None,
        metrics: WorkerMetrics | None = None,
        guard: BindGuard | None = None,
    ) -> None:
        """`log_searches`: log every search the answer cache misses at debug level; pass False
        when the log level is above debug, as dropping those events still costs time.
        `offload` runs what replies wait for (hashes, commits); by default on the spot.
        `freshness`: hold requests while this worker misses an acknowledged write.
        `metrics`: this process's counters (server/metrics.py), published by the caller.
        `guard`: count failed binds, lock accounts and block addresses (bindguard.py)."""
        self.guard = guard
        self.simple_bind_tls = simple_bind_tls
        self.directory = directory
        self.offload: Offload = offload if offload is not None else InlineOffload(directory)
        self.freshness = freshness
        self.log_searches = log_searches
        self.max_pdu_size = max_pdu_size
        self.reactor = reactor
        self.log = log if log is not None else Logger()
        self.tls = tls  # a connection creator (server/tls.py) for StartTLS, or None
        self.extended = dict(standard_handlers() if extended is None else extended)
        self.answers = AnswerCache()  # shared by all connections (DESIGN.md fast path)
        self.searches = SearchReader()  # and the shapes of their searches (pdus)
        # The routing lane, but at debug level, where every uncached search is logged so the
        # filters a real connector sends can be captured (the general search logs them).
        self.lane = None if log_searches else RoutingLane(directory, self.searches)
        self.noisy = False  # no "starting factory" lines; our own log says what matters
        self.limits = limits if limits is not None else ConnectionLimits()
        self.admission = Admission(
            max_connections=self.limits.max_connections,
            max_per_address=self.limits.max_connections_per_address,
        )
        self.audit = audit
        self.connections = 0  # numbers connections for the audit log ("conn=N")
        self.metrics = metrics if metrics is not None else WorkerMetrics()

    def buildProtocol(self, addr: IAddress | None) -> LDAPServerProtocol:
        protocol = LDAPServerProtocol(self)
        protocol.factory = self
        return protocol


# bytes: replies already encoded (a cached or a captured answer). An Outgoing may be a
# `Pending` (pending.py): the pump hands its job to the factory's offload and stops there until
# it completes, so the connection's later replies wait behind it and leave in request order.
Item = Outgoing | bytes


@dataclass(slots=True)
class Work:
    """One request's replies still to send; a `barrier` may change the session (a bind...),
    so the fast path answers from the cache only while no barrier is queued before it."""

    message_id: int
    items: Iterator[Item]
    barrier: bool
    # A write (Write) or daily-count operation (Count) may be queued for commit while the
    # requests before it, of the same kind, wait for theirs (`_run_ahead`); `ahead` holds the
    # item its iterator gave then.
    runs_ahead: type[Write] | type[Count] | None = None
    ahead: Item | None = None
    # For the metrics: the operation's slot (-1: not counted), when its frame was taken, its
    # result code when known on queueing (-1: read from `last`, its last Reply, when done).
    operation: int = -1
    started: int = 0
    code: int = -1
    last: Reply | None = None


class LDAPServerProtocol(Protocol):
    """One client connection; also the connection's IPushProducer (streaming)."""

    def __init__(self, factory: LDAPServerFactory) -> None:
        self._config = factory
        self._metrics = factory.metrics
        self._count_search = factory.metrics.recorder(SEARCH)  # ready answers (the hot path)
        self._codec = LDAPCodec(factory.max_pdu_size, searches=factory.searches)
        self._session = Session(
            factory.directory,
            extended=factory.extended,
            log=factory.log,
            now=factory.reactor.seconds,
            tls_configured=factory.tls is not None,
            log_searches=factory.log_searches,
            audit=factory.audit,
            guard=factory.guard,
        )
        limits = factory.limits
        self._bound_pdu_size = factory.max_pdu_size
        self._anonymous_pdu_size = min(
            limits.anonymous_max_pdu_size or factory.max_pdu_size, factory.max_pdu_size
        )
        self._max_pending = limits.max_pending_requests
        self._admitted = False
        self._idle: IdleTimer | None = None
        # A search answered from the answer cache or the routing lane is queued as its bytes.
        self._work: deque[Work | bytes] = deque()
        self._barriers = 0  # queued Work items with barrier=True
        self._paused = False
        self._reading_paused = False
        self._held = False  # waiting for the follower (freshness barrier)
        self._closing = False
        self._scheduled: DelayedCall | None = None
        self._waiting: Pending | None = None  # the head request's job, running elsewhere
        self._transport: Transport | None = None
        self._socket: socket.socket | None = None  # set while replies may bypass Twisted

    @property
    def _out(self) -> Transport:
        if self._transport is None:
            self._transport = cast(Transport, self.transport)
        return self._transport

    def connectionMade(self) -> None:
        address = self._out.getPeer()
        peer = getattr(address, "host", None)
        refusal = self._config.admission.admit(peer)
        if refusal is not None:
            self._config.metrics.connection_refused()
            self._notice(ResultCode.BUSY, refusal.message)
            return
        self._admitted = True
        self._config.metrics.connection_opened()
        self._idle = self._start_idle_timer()
        self._out.registerProducer(self, True)
        self._socket = direct_socket(self.transport)
        self._session.tls_active = ISSLTransport.providedBy(self.transport)  # LDAPS
        self._session.password_needs_tls = needs_tls(self._config.simple_bind_tls, peer)
        self._config.connections += 1
        self._session.peer_host = None if peer is None else str(peer)
        self._session.client = f"IP={format_address(str(peer), getattr(address, 'port', 0))}"
        self._session.connection = f"conn={self._config.connections}"

    def _start_idle_timer(self) -> IdleTimer | None:
        timeout = self._config.limits.idle_timeout
        if timeout <= 0:
            return None
        return IdleTimer(
            self._config.reactor,
            timeout,
            expire=lambda: self._notice(
                ResultCode.UNAVAILABLE, f"idle for {timeout:g} s (idle_timeout); closing"
            ),
            is_busy=lambda: bool(self._work),
        )

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        if self._idle is not None:
            self._idle.touch()
        self._codec.feed(data)
        self._read_messages()
        if self._scheduled is None:
            self._pump()

    def _read_messages(self) -> None:
        codec = self._codec
        # Once for all the requests read now: they all arrived before this check, so any
        # write acknowledged before one of them arrived is seen (freshness.py).
        if self._must_wait():
            return
        # slapd's sockbuf_max_incoming(_auth): a smaller PDU limit until a bind succeeds (a
        # bind's result is sent by the pump, never while requests are read).
        bound = self._session.principal.dn
        codec.max_pdu_size = self._bound_pdu_size if bound else self._anonymous_pdu_size
        try:
            while len(self._work) < self._max_pending and not self._closing:
                pdu = codec.next_frame()
                if pdu is None:
                    return
                self._accept_frame(pdu)
        except CodecError as error:
            self._disconnect(error)
            return
        if not self._closing and not self._reading_paused:
            self._reading_paused = True
            self._out.pauseProducing()

    def _must_wait(self) -> bool:
        """Whether the next request must wait: the node acknowledged a write this worker has
        not applied yet (freshness.py). Checked before the answer cache, so no answer is older
        than an acknowledged write; the connection stops reading, so requests keep their order."""
        freshness = self._config.freshness
        if self._held or freshness is None:
            return self._held
        if freshness.committed() <= self._config.directory.sequence:
            return False
        if not freshness.wait(self._release):
            return False  # that write was waited for in vain already (logged)
        self._held = True
        if not self._reading_paused:
            self._reading_paused = True
            self._out.pauseProducing()
        return True

    def _release(self) -> None:
        self._held = False
        if not self._closing:
            self._read_messages()
            if self._scheduled is None:
                self._pump()

    def _accept_frame(self, pdu: bytes) -> None:
        """What happens to a request: a search is answered from the answer cache when it
        repeats, else by the routing lane when it looks up a number; any other PDU is decoded,
        and a search then goes to the general search, every other request to the session."""
        started = perf_counter_ns()
        search = split_search(pdu) if self._barriers == 0 else None
        principal = self._session.principal
        directory = self._config.directory
        generation = directory.generation
        if search is not None:
            answers, routing = self._config.answers, self._config.lane
            answer = answers.get(principal, search.operation, generation)
            if answer is None and routing is not None:
                answer = routing.answer(principal, search.operation, directory.layout)
                if answer is not None:
                    answers.put(principal, search.operation, generation, answer)
            if answer is not None:
                self._work.append(wrap(search.message_id, answer))
                # Counted now: a ready answer goes out in this turn of the pump (behind the
                # connection's earlier requests), and counting it there would cost it a Work.
                last = answer[-1]
                code = 0 if last == _SUCCESS_DONE else done_code(last)
                self._count_search(code, started)
                return
        message = self._codec.decode(pdu)
        request = message.request
        if search is None or not isinstance(request, SearchRequest):
            self._accept(message, started)
            return
        work = Work(search.message_id, iter(()), barrier=False, operation=SEARCH, started=started)
        work.items = self._capture(work, search, principal, generation, request)
        self._work.append(work)

    def _capture(
        self,
        work: Work,
        search: SearchFrame,
        principal: Hashable,
        generation: int,
        request: SearchRequest,
    ) -> Iterator[Item]:
        """Send the replies and keep their encoded operations for the cache when the answer
        is complete and stable (abandoned or failed searches are not kept)."""
        operations: list[bytes] = []
        message_id = search.message_id
        for operation in self._session.search_operations(request):
            operations.append(operation)
            yield envelope(message_id, operation)
        if operations:
            work.code = done_code(operations[-1])
        if is_stable(search, operations):
            self._config.answers.put(principal, search.operation, generation, tuple(operations))

    def _accept(self, message: LDAPMessage, started: int) -> None:
        match message.request:
            case AbandonRequest(message_id=target):
                self._cancel(lambda message_id: message_id == target)
            case UnbindRequest():  # RFC 4511 §4.3: no response, close the connection
                self._close()
            case _:
                busy = bool(self._work)  # requests sent before this one, still unanswered
                items = self._session.respond(
                    message, others_outstanding=lambda: busy or len(self._work) > 1
                )
                kind = _kind(message.request)
                operation = _OPERATION_OF.get(type(message.request), -1)
                self._work.append(
                    Work(
                        message.message_id,
                        items,
                        barrier=True,
                        runs_ahead=kind,
                        operation=operation,
                        started=started,
                    )
                )
                self._barriers += 1

    def _disconnect(self, error: CodecError) -> None:
        """Garbage or an oversized PDU: never answer it, say why and close."""
        self._notice(ResultCode.PROTOCOL_ERROR, error.message)

    def _notice(self, code: ResultCode, message: str) -> None:
        """RFC 4511 §4.4.1 Notice of Disconnection, then close."""
        self._config.log.info("closing connection: {reason}", reason=message)
        notice = ExtendedResult(code, message=message, name=NOTICE_OF_DISCONNECTION_OID)
        self._cancel(lambda _: True)
        self._out.write(self._codec.encode(0, notice))
        self._close()

    def _close(self) -> None:
        self._closing = True
        self._cancel(lambda _: True)
        self._out.loseConnection()

    def _cancel(self, matches: Callable[[int], bool]) -> None:
        """Drop queued or in-progress work whose message ID matches (abandon, close); an
        answer already complete is sent all the same (RFC 4511 §4.11), unless the connection
        closes."""
        if self._closing:
            self._work = deque(work for work in self._work if not isinstance(work, bytes))
        for work in [w for w in self._work if isinstance(w, Work) and matches(w.message_id)]:
            if work is self._work[0]:
                self._waiting = None  # its job still completes (a write is still applied)
            self._work.remove(work)
            self._finished(work)
            close = getattr(work.items, "close", None)
            if close is not None:
                close()

    def _finished(self, work: Work) -> None:
        if work.barrier:
            self._barriers -= 1

    def _pump(self) -> None:
        """Send what the queued requests produce; pipelined answers share one write."""
        self._scheduled = None
        written = 0
        pending: list[bytes] = []
        size = 0
        while self._work and not self._paused and not self._closing and self._waiting is None:
            if written >= TURN_BYTES:
                self._flush(pending)
                self._scheduled = self._config.reactor.callLater(0, self._pump)
                return
            added = self._fill(pending)
            written += added
            size += added
            if size >= WRITE_BATCH_BYTES:
                self._flush(pending)
                size = 0
        self._flush(pending)
        if self._waiting is not None and self._work:
            self._run_ahead()
        if self._reading_paused and not self._work and not self._closing and not self._held:
            self._reading_paused = False
            self._out.resumeProducing()
            self._read_messages()
            if self._work:
                self._scheduled = self._config.reactor.callLater(0, self._pump)

    def _flush(self, pending: list[bytes]) -> None:
        if pending:
            data = b"".join(pending) if len(pending) > 1 else pending[0]
            pending.clear()
            if self._socket is None:
                self._out.write(data)
            else:
                send_now(self._out, self._socket, data)

    def _fill(self, pending: list[bytes]) -> int:
        """Add up to WRITE_BATCH_BYTES of the head request's replies to `pending`."""
        work = self._work[0]
        if isinstance(work, bytes):
            self._work.popleft()
            pending.append(work)
            return len(work)
        size = 0
        items = work.items
        if work.ahead is not None:
            items, work.ahead = chain((work.ahead,), work.items), None
        for item in items:
            if isinstance(item, Pending):
                self._start(item)
                if not item.is_done:
                    self._waiting = item
                    return size
                continue
            if isinstance(item, StartTLS):
                self._flush(pending)  # the success reply goes out in clear text first
                self._socket = None  # from now on only TLS records go out
                self._out.startTLS(self._config.tls)
                continue
            if isinstance(item, bytes):
                pending.append(item)
            else:
                pending.append(self._encode(item))
                work.last = item
            size += len(pending[-1])
            if size >= WRITE_BATCH_BYTES:
                break
        else:
            self._work.popleft()
            self._finished(work)
            if work.operation >= 0:  # an answered request into the metrics
                code = work.code if work.code >= 0 else _code_of(work.last)
                self._metrics.operation(work.operation, code, work.started)
        return size

    def _start(self, pending: Pending) -> None:
        if not pending.is_started:
            pending.is_started = True
            self._config.offload.start(pending.job, partial(self._resume, pending))

    def _run_ahead(self) -> None:
        """While the head request waits for its commit, queue the writes pipelined behind it.

        Group commit then gets a client's pipelined writes into one batch instead of one batch
        each. Replies still leave in request order, and the write queue checks each write in
        arrival order, holding back one that meets a write not yet applied (writes.py), so the
        outcome is that of running them one after another; the counters writer counts in
        arrival order. Only behind requests of the same kind: a read or a bind waits for its
        turn, a count behind a write would read a limit that write may change, and a write
        that must hash first waits (its commit would otherwise overtake the writes before it).
        """
        head = self._work[0]
        kind = head.runs_ahead if isinstance(head, Work) else None
        if kind is None or self._waiting is None or not isinstance(self._waiting.job, kind):
            return
        for work in islice(self._work, 1, RUN_AHEAD + 1):
            if isinstance(work, bytes) or work.runs_ahead is not kind:
                return
            if work.ahead is None:
                work.ahead = next(work.items, None)
            ahead = work.ahead
            if not (isinstance(ahead, Pending) and isinstance(ahead.job, kind)):
                return
            self._start(ahead)

    def _resume(self, pending: Pending, result: object, error: Exception | None) -> None:
        """A job completed (on the loop): send what the head request has now, and go on."""
        pending.complete(result, error)
        if self._waiting is pending:
            self._waiting = None
            if self._scheduled is None and not self._closing:
                self._pump()

    def _encode(self, reply: Reply) -> bytes:
        return self._codec.encode(reply.message_id, reply.response, reply.controls or None)

    def pauseProducing(self) -> None:  # noqa: N802 (IPushProducer)
        self._paused = True

    def resumeProducing(self) -> None:  # noqa: N802 (IPushProducer)
        self._paused = False
        if self._scheduled is None:
            self._pump()

    def stopProducing(self) -> None:  # noqa: N802 (IPushProducer)
        self._close()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._admitted:
            self._admitted = False
            self._config.metrics.connection_closed()
            self._config.admission.release(getattr(self._out.getPeer(), "host", None))
        if self._idle is not None:
            self._idle.stop()
        self._closing = True
        self._cancel(lambda _: True)
        self._session.close()
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None


def _code_of(last: Reply | None) -> int:
    """The result code of a request's last reply (its LDAPResult), for the metrics."""
    code = getattr(last.response, "code", CODES - 1) if last is not None else CODES - 1
    return min(int(code), CODES - 1)


def _kind(request: object) -> type[Write] | type[Count] | None:
    """Which pending job a request may run ahead with (`_run_ahead`), if any."""
    if isinstance(request, _WRITES):
        return Write
    if isinstance(request, ExtendedRequest) and request.oid in _COUNTS:
        return Count
    return None
