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
from typing import cast

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from ixidir.directory.requests import SearchRequest
from ixidir.errors import ResultCode
from ixidir.server import lane
from ixidir.server.codec import CodecError, LDAPCodec, envelope
from ixidir.server.extended import ExtendedHandler, standard_handlers
from ixidir.server.facade import Directory
from ixidir.server.fastpath import AnswerCache, SearchFrame, is_stable, split_search, wrap
from ixidir.server.freshness import Freshness
from ixidir.server.interfaces import Clock, DelayedCall, Transport
from ixidir.server.messages import (
    NOTICE_OF_DISCONNECTION_OID,
    AbandonRequest,
    ExtendedResult,
    LDAPMessage,
    UnbindRequest,
)
from ixidir.server.pdus import SearchReader
from ixidir.server.sendnow import direct_socket, send_now
from ixidir.server.session import Outgoing, Reply, Session, StartTLS

# slapd accepts 4 MiB from bound clients; requests from real clients are a few hundred bytes,
# and a PDU is decoded on the reactor, so we default lower.
DEFAULT_MAX_PDU_SIZE = 1024 * 1024
WRITE_BATCH_BYTES = 64 * 1024  # coalesce small PDUs into writes of about this size
TURN_BYTES = 1024 * 1024  # then give the reactor a turn (abandon, other connections)
MAX_QUEUED_REQUESTS = 64  # stop reading from a client that sends faster than it reads


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
        freshness: Freshness | None = None,
    ) -> None:
        """`log_searches`: log every search the answer cache misses at debug level; pass False
        when the log level is above debug, as dropping those events still costs time.
        `freshness`: hold requests while this worker misses an acknowledged write."""
        self.directory = directory
        self.freshness = freshness
        self.log_searches = log_searches
        self.max_pdu_size = max_pdu_size
        self.reactor = reactor
        self.log = log if log is not None else Logger()
        self.tls = tls  # an IOpenSSLContextFactory for StartTLS, or None
        self.extended = dict(standard_handlers() if extended is None else extended)
        self.answers = AnswerCache()  # shared by all connections (DESIGN.md fast path)
        self.searches = SearchReader()  # and the shapes of their searches (pdus)
        self.noisy = False  # no "starting factory" lines; our own log says what matters

    def buildProtocol(self, addr: IAddress | None) -> LDAPServerProtocol:
        protocol = LDAPServerProtocol(self)
        protocol.factory = self
        return protocol


Item = Outgoing | bytes  # bytes: replies already encoded (a cached or a captured answer)


@dataclass(slots=True)
class Work:
    """One request's replies still to send; a `barrier` may change the session (a bind...),
    so the fast path answers from the cache only while no barrier is queued before it."""

    message_id: int
    items: Iterator[Item]
    barrier: bool


class LDAPServerProtocol(Protocol):
    """One client connection; also the connection's IPushProducer (streaming)."""

    def __init__(self, factory: LDAPServerFactory) -> None:
        self._config = factory
        self._codec = LDAPCodec(factory.max_pdu_size, searches=factory.searches)
        self._session = Session(
            factory.directory,
            extended=factory.extended,
            log=factory.log,
            now=factory.reactor.seconds,
            tls_configured=factory.tls is not None,
            log_searches=factory.log_searches,
        )
        self._work: deque[Work] = deque()
        self._barriers = 0  # queued Work items with barrier=True
        self._paused = False
        self._reading_paused = False
        self._held = False  # waiting for the follower (freshness barrier)
        self._closing = False
        self._scheduled: DelayedCall | None = None
        self._transport: Transport | None = None
        self._socket: socket.socket | None = None  # set while replies may bypass Twisted

    @property
    def _out(self) -> Transport:
        if self._transport is None:
            self._transport = cast(Transport, self.transport)
        return self._transport

    def connectionMade(self) -> None:
        self._out.registerProducer(self, True)
        self._socket = direct_socket(self.transport)

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        self._codec.feed(data)
        self._read_messages()
        if self._scheduled is None:
            self._pump()

    def _read_messages(self) -> None:
        try:
            while len(self._work) < MAX_QUEUED_REQUESTS and not self._closing:
                if self._must_wait():
                    return
                pdu = self._codec.next_frame()
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
        """What happens to a request: a repeated search is answered from the answer cache; any
        other PDU is decoded; a search then goes to the routing lane, else the general search;
        every other request to the session."""
        search = split_search(pdu) if self._barriers == 0 else None
        principal = self._session.principal
        generation = self._config.directory.generation
        if search is not None:
            answer = self._config.answers.get(principal, search.operation, generation)
            if answer is not None:
                self._queue(search.message_id, iter((wrap(search.message_id, answer),)))
                return
        message = self._codec.decode(pdu)
        request = message.request
        if search is None or not isinstance(request, SearchRequest):
            self._accept(message)
            return
        operations = lane.answer(self._config.directory, principal, request)
        if operations is not None:
            self._session.log_search(request)
            self._config.answers.put(principal, search.operation, generation, operations)
            self._queue(search.message_id, iter((wrap(search.message_id, operations),)))
            return
        self._queue(search.message_id, self._capture(search, principal, generation, request))

    def _queue(self, message_id: int, items: Iterator[Item]) -> None:
        self._work.append(Work(message_id, items, barrier=False))

    def _capture(
        self, search: SearchFrame, principal: Hashable, generation: int, request: SearchRequest
    ) -> Iterator[Item]:
        """Send the replies and keep their encoded operations for the cache when the answer
        is complete and stable (abandoned or failed searches are not kept)."""
        operations: list[bytes] = []
        message_id = search.message_id
        for operation in self._session.search_operations(request):
            operations.append(operation)
            yield envelope(message_id, operation)
        if is_stable(search, operations):
            self._config.answers.put(principal, search.operation, generation, tuple(operations))

    def _accept(self, message: LDAPMessage) -> None:
        match message.request:
            case AbandonRequest(message_id=target):
                self._cancel(lambda message_id: message_id == target)
            case UnbindRequest():  # RFC 4511 §4.3: no response, close the connection
                self._close()
            case _:
                items = self._session.respond(message)
                self._work.append(Work(message.message_id, items, barrier=True))
                self._barriers += 1

    def _disconnect(self, error: CodecError) -> None:
        """RFC 4511 §4.4.1 Notice of Disconnection, then close (never answer garbage)."""
        self._config.log.info("closing connection: {reason}", reason=error.message)
        notice = ExtendedResult(
            ResultCode.PROTOCOL_ERROR, message=error.message, name=NOTICE_OF_DISCONNECTION_OID
        )
        self._cancel(lambda _: True)
        self._out.write(self._codec.encode(0, notice))
        self._close()

    def _close(self) -> None:
        self._closing = True
        self._cancel(lambda _: True)
        self._out.loseConnection()

    def _cancel(self, matches: Callable[[int], bool]) -> None:
        """Drop queued or in-progress work whose message ID matches (abandon, close)."""
        for work in [work for work in self._work if matches(work.message_id)]:
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
        while self._work and not self._paused and not self._closing:
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
        size = 0
        for item in work.items:
            if isinstance(item, StartTLS):
                self._flush(pending)  # the success reply goes out in clear text first
                self._socket = None  # from now on only TLS records go out
                self._out.startTLS(self._config.tls)
                continue
            pending.append(item if isinstance(item, bytes) else self._encode(item))
            size += len(pending[-1])
            if size >= WRITE_BATCH_BYTES:
                break
        else:
            self._work.popleft()
            self._finished(work)
        return size

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
        self._closing = True
        self._cancel(lambda _: True)
        self._session.close()
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None
