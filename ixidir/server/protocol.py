"""The Twisted adapter: bytes from a TCP connection through the codec into a Session and back.

Replies are written as the session produces them, coalesced into one `transport.write` per
batch; the protocol is a push producer, so a client that stops reading pauses its search
instead of growing our send buffer, and a long search yields to the reactor between turns so
an abandon (or other clients) gets through.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import cast

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from ixidir.errors import ResultCode
from ixidir.server.codec import CodecError, LDAPCodec
from ixidir.server.extended import ExtendedHandler, standard_handlers
from ixidir.server.facade import Directory
from ixidir.server.interfaces import Clock, DelayedCall, Transport
from ixidir.server.messages import (
    NOTICE_OF_DISCONNECTION_OID,
    AbandonRequest,
    ExtendedResult,
    LDAPMessage,
    UnbindRequest,
)
from ixidir.server.session import Outgoing, Reply, Session, StartTLS

# slapd accepts 4 MiB from bound clients; ldaptor's decoder is quadratic in elements per
# SEQUENCE, so we default lower. Requests from real clients are a few hundred bytes.
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
    ) -> None:
        self.directory = directory
        self.max_pdu_size = max_pdu_size
        self.reactor = reactor
        self.log = log if log is not None else Logger()
        self.tls = tls  # an IOpenSSLContextFactory for StartTLS, or None
        self.extended = dict(standard_handlers() if extended is None else extended)

    def buildProtocol(self, addr: IAddress | None) -> LDAPServerProtocol:
        protocol = LDAPServerProtocol(self)
        protocol.factory = self
        return protocol


class LDAPServerProtocol(Protocol):
    """One client connection; also the connection's IPushProducer (streaming)."""

    def __init__(self, factory: LDAPServerFactory) -> None:
        self._config = factory
        self._codec = LDAPCodec(factory.max_pdu_size)
        self._session = Session(
            factory.directory,
            extended=factory.extended,
            log=factory.log,
            now=factory.reactor.seconds,
            tls_configured=factory.tls is not None,
        )
        self._work: deque[tuple[int, Iterator[Outgoing]]] = deque()
        self._paused = False
        self._reading_paused = False
        self._closing = False
        self._scheduled: DelayedCall | None = None
        self._transport: Transport | None = None

    @property
    def _out(self) -> Transport:
        if self._transport is None:
            self._transport = cast(Transport, self.transport)
        return self._transport

    def connectionMade(self) -> None:
        self._out.registerProducer(self, True)

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
                message = self._codec.next_message()
                if message is None:
                    return
                self._accept(message)
        except CodecError as error:
            self._disconnect(error)
            return
        if not self._closing and not self._reading_paused:
            self._reading_paused = True
            self._out.pauseProducing()

    def _accept(self, message: LDAPMessage) -> None:
        match message.request:
            case AbandonRequest(message_id=target):
                self._cancel(lambda message_id: message_id == target)
            case UnbindRequest():  # RFC 4511 §4.3: no response, close the connection
                self._close()
            case _:
                self._work.append((message.message_id, self._session.respond(message)))

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
        for item in [item for item in self._work if matches(item[0])]:
            self._work.remove(item)
            close = getattr(item[1], "close", None)
            if close is not None:
                close()

    def _pump(self) -> None:
        self._scheduled = None
        written = 0
        while self._work and not self._paused and not self._closing:
            if written >= TURN_BYTES:
                self._scheduled = self._config.reactor.callLater(0, self._pump)
                return
            written += self._write_batch()
        if self._reading_paused and not self._work and not self._closing:
            self._reading_paused = False
            self._out.resumeProducing()
            self._read_messages()
            if self._work:
                self._scheduled = self._config.reactor.callLater(0, self._pump)

    def _write_batch(self) -> int:
        """Write up to WRITE_BATCH_BYTES of the head request's replies in one write."""
        _, items = self._work[0]
        chunks: list[bytes] = []
        size = 0
        for item in items:
            if isinstance(item, StartTLS):
                self._out.write(b"".join(chunks))
                chunks = []
                self._out.startTLS(self._config.tls)
                continue
            chunks.append(self._encode(item))
            size += len(chunks[-1])
            if size >= WRITE_BATCH_BYTES:
                break
        else:
            self._work.popleft()
        if chunks:
            self._out.write(b"".join(chunks))
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
