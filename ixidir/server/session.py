"""One connection's LDAP session, sans-IO: bind state, paged searches, and per-operation dispatch.

`Session.respond` turns a decoded request into the replies to send, lazily, so a large search
streams entries as the directory yields them. Every failure is mapped by `results.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain

from twisted.logger import Logger

from ixidir.directory.filter import Filter
from ixidir.directory.filtertext import format_filter
from ixidir.directory.ops.compare import SecretCheck
from ixidir.directory.passwords import SecretHashes
from ixidir.directory.pins import PinCheck, PinOutcome
from ixidir.directory.requests import (
    ANONYMOUS,
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.state import PreparedWrite
from ixidir.errors import AuthMethodNotSupported, ConfidentialityRequired, ProtocolError, ResultCode
from ixidir.server.audit import AuditLog, Origin, audited_change
from ixidir.server.bindguard import BindGuard, Caller, guarded_bind, plain_bind
from ixidir.server.codec import entry_operation, result_operation
from ixidir.server.controls import (
    PAGED_RESULTS_OID,
    PagedRequest,
    PagedSearches,
    check_critical,
    decode_paged,
    find,
    paged_response,
)
from ixidir.server.extended import ExtendedCall, ExtendedHandler, ExtendedReply, find_handler
from ixidir.server.facade import Directory
from ixidir.server.messages import (
    AbandonRequest,
    BindRequest,
    CompareRequest,
    Control,
    DeleteRequest,
    ExtendedRequest,
    ExtendedResult,
    LDAPMessage,
    Request,
    Response,
    Result,
    ResultKind,
    UnbindRequest,
)
from ixidir.server.pending import Compute, Pending, Write
from ixidir.server.pin_ext import verified_pin
from ixidir.server.results import extended_result_for, result_for

SUCCESS = ResultCode.SUCCESS
_SUCCESS_DONE = result_operation(Result(ResultKind.SEARCH_DONE, SUCCESS))


def _written(prepare: Callable[[], PreparedWrite]) -> Iterator[Pending]:
    """Wait for a write to be committed and applied; a refusal raises here."""
    written = Pending(Write(prepare))
    yield written
    written.outcome()


@dataclass(frozen=True, slots=True)
class FilterText:
    """A filter that renders as RFC 4515 text only when a log observer formats it."""

    filter: Filter

    def __str__(self) -> str:
        try:
            return format_filter(self.filter)
        except ValueError:
            return repr(self.filter)  # forms the string syntax cannot carry


@dataclass(frozen=True, slots=True)
class Reply:
    """One response PDU to send for `message_id`."""

    message_id: int
    response: Response
    controls: tuple[Control, ...] = ()


@dataclass(frozen=True, slots=True)
class StartTLS:
    """After the replies before it are written, switch the connection to TLS (RFC 4511 §4.14)."""


# A Pending stands where replies wait for work off the loop (pending.py); the session reads
# its outcome when the pump resumes the iterator.
Outgoing = Reply | StartTLS | Pending

_KINDS: dict[type[Request], ResultKind] = {
    BindRequest: ResultKind.BIND,
    SearchRequest: ResultKind.SEARCH_DONE,
    ModifyRequest: ResultKind.MODIFY,
    AddRequest: ResultKind.ADD,
    DeleteRequest: ResultKind.DELETE,
    ModifyDNRequest: ResultKind.MODIFY_DN,
    CompareRequest: ResultKind.COMPARE,
}


class Session:
    """The state RFC 4511 keeps per connection, and the operations that read and change it."""

    def __init__(
        self,
        directory: Directory,
        *,
        extended: Mapping[str, ExtendedHandler],
        log: Logger,
        now: Callable[[], float] | None = None,
        tls_configured: bool = False,
        log_searches: bool = True,
        audit: AuditLog | None = None,
        guard: BindGuard | None = None,
    ) -> None:
        """`log_searches`: log each search at debug level; a server that does not write debug
        lines turns it off, since a dropped event still costs ~10% of a routing search.
        `audit`: where changes are logged; `client` and `connection` name this connection.
        `guard`: throttle binds and lock accounts (bindguard.py); None counts nothing."""
        self.principal = ANONYMOUS
        self._log_searches = log_searches
        self.tls_active = False
        self.password_needs_tls = False  # set per connection from simple_bind_tls (protocol.py)
        self._directory = directory
        self._extended = extended
        self._log = log
        self._tls_configured = tls_configured
        self._now = now  # the clock search time limits are measured on (RFC 4511 §4.5.1.5)
        self._paged = PagedSearches()
        self._audit = audit
        self._guard = guard
        self.peer_host: str | None = None  # the client's address, set by the protocol
        self.client = ""  # "IP=HOST:PORT", set by the protocol
        self.connection = ""  # "conn=N"

    def respond(
        self, message: LDAPMessage, *, others_outstanding: Callable[[], bool] = lambda: False
    ) -> Iterator[Outgoing]:
        """The replies to one request; abandon and unbind have none (the transport acts).
        `others_outstanding`: whether other requests of the connection are unanswered (when
        this one arrived, or since), asked when it runs (StartTLS, RFC 4511 §4.14.1)."""
        if isinstance(message.request, SearchRequest):
            return self._search(message.message_id, message.request, message.controls)
        # Lazy: the request runs when the pump reaches it, after every earlier request of the
        # connection has been answered (a pipelined modify after a bind acts as the bound user).
        return self._single(
            message.message_id, message.request, message.controls, others_outstanding
        )

    def close(self) -> None:
        """The connection is gone: release suspended paged searches."""
        self._paged.clear()

    def _single(
        self,
        message_id: int,
        request: Request,
        controls: tuple[Control, ...],
        others_outstanding: Callable[[], bool],
    ) -> Iterator[Outgoing]:
        if isinstance(request, AbandonRequest | UnbindRequest):
            return
        try:
            check_critical(request, controls)
            principal = self.principal
            match request:
                case ExtendedRequest():
                    yield from self._extended_operation(message_id, request, others_outstanding())
                    return
                case BindRequest():
                    yield from self._bind(request)
                case AddRequest():
                    hashes = yield from self._hashed(request)
                    yield from _written(
                        lambda: self._directory.prepare_add(principal, request, hashes)
                    )
                case ModifyRequest():
                    hashes = yield from self._hashed(request)
                    yield from _written(
                        lambda: self._directory.prepare_modify(principal, request, hashes)
                    )
                case DeleteRequest():
                    dn = request.dn
                    yield from _written(lambda: self._directory.prepare_delete(principal, dn))
                case ModifyDNRequest():
                    yield from _written(
                        lambda: self._directory.prepare_modify_dn(principal, request)
                    )
                case CompareRequest():
                    compared = yield from self._compare(request)
                    yield Reply(message_id, compared)
                    return
            self._audited(request, SUCCESS)  # the write above has committed
            yield Reply(message_id, Result(_KINDS[type(request)], SUCCESS))
        # The one boundary where any failure becomes a result code (results.py decides which).
        except Exception as error:  # noqa: BLE001
            failed: Result | ExtendedResult
            if isinstance(request, ExtendedRequest):
                failed = extended_result_for(error, self._log)
            else:
                failed = result_for(error, _KINDS[type(request)], self._log)
            self._audited(request, failed.code)
            yield Reply(message_id, failed)

    def _audited(self, request: Request, code: int) -> None:
        """Log a change (or a refused one) to the audit log; other requests are not logged."""
        if self._audit is None:
            return
        change = audited_change(request, self.principal)
        if change is None:
            return
        origin = Origin(self.principal.dn, self.client, self.connection)
        try:
            self._audit.record(origin, change, code)
        except Exception:  # noqa: BLE001 (the change is made: its answer must still go out)
            self._log.failure("could not format an audit record")

    def _hashed(
        self, request: AddRequest | ModifyRequest
    ) -> Generator[Pending, None, SecretHashes | None]:
        """Hash the write's cleartext passwords and PINs on the pool, before it is checked."""
        cleartext = self._directory.cleartext_secrets(request)
        if cleartext is None:
            return None
        hashed = Pending(Compute(cleartext.compute))
        yield hashed
        hashes = hashed.outcome()
        return hashes if isinstance(hashes, SecretHashes) else None

    def _bind(self, request: BindRequest) -> Iterator[Outgoing]:
        """RFC 4511 §4.2 simple bind; the connection is anonymous unless the bind succeeds.

        The password hash is verified off the loop (pending.Compute): ~270 ms of PBKDF2 would
        stop every other client (STYLE.md §8); failed binds are counted (bindguard.py).
        """
        self.principal = ANONYMOUS
        self._paged.clear()
        if request.version != 3:
            raise ProtocolError("only LDAP version 3 is supported")
        if request.mechanism is not None:
            raise AuthMethodNotSupported("SASL is not supported")
        if request.password and self.password_needs_tls and not self.tls_active:
            raise ConfidentialityRequired("a password bind needs TLS here: StartTLS or LDAPS")
        # The directory decides anonymous (RFC 4513 §5.1.1) and unauthenticated (§5.1.2) binds.
        if self._guard is None:
            bound = yield from plain_bind(self._directory, request.dn, request.password)
        else:
            caller = Caller(self.peer_host, self.client, self.connection)
            bound = yield from guarded_bind(
                self._directory, self._guard, caller, request.dn, request.password
            )
        self.principal = bound

    def _compare(self, request: CompareRequest) -> Generator[Pending, None, Result]:
        """A Compare against a secret verifies its hash on the pool; one on ixiVmPin by a
        service counts failures through the writer, as the verify-PIN operation does."""
        started = self._directory.begin_compare(
            self.principal, request.dn, request.attr, request.value
        )
        if isinstance(started, PinCheck):
            outcome = yield from verified_pin(self._directory, started)
            matched = outcome.result is PinOutcome.OK
        elif isinstance(started, SecretCheck):
            checked = Pending(Compute(started.verify))
            yield checked
            matched = checked.outcome() is True
        else:
            matched = started
        code = ResultCode.COMPARE_TRUE if matched else ResultCode.COMPARE_FALSE
        return Result(ResultKind.COMPARE, code)

    def _extended_operation(
        self, message_id: int, request: ExtendedRequest, others_outstanding: bool
    ) -> Iterator[Outgoing]:
        handler = find_handler(self._extended, request.oid)
        can_start_tls = self._tls_configured and not self.tls_active
        call = ExtendedCall(
            self._directory,
            self.principal,
            request.value,
            can_start_tls,
            tls_active=self.tls_active,
            others_outstanding=others_outstanding,
        )
        answer = handler(call)
        reply = answer if isinstance(answer, ExtendedReply) else (yield from answer)
        self._audited(request, SUCCESS)
        result = ExtendedResult(SUCCESS, name=reply.name, value=reply.value)
        yield Reply(message_id, result)
        if reply.start_tls:
            self.tls_active = True
            yield StartTLS()

    def _search(
        self, message_id: int, request: SearchRequest, controls: tuple[Control, ...]
    ) -> Iterator[Outgoing]:
        """Entries as the directory yields them, then SearchResultDone (with the paged control
        on every SearchResultDone of a paged search, RFC 2696)."""
        self.log_search(request)
        paged = find(controls, PAGED_RESULTS_OID)
        done_controls: tuple[Control, ...] = () if paged is None else (paged_response(b""),)
        try:
            check_critical(request, controls)
            if paged is None:
                for entry in self._directory.search(self.principal, request, now=self._now):
                    yield Reply(message_id, entry)
            else:
                page = decode_paged(paged.value)
                cookie = yield from self._page(message_id, request, page)
                done_controls = (paged_response(cookie),)
            yield Reply(message_id, Result(ResultKind.SEARCH_DONE, SUCCESS), done_controls)
        except Exception as error:  # noqa: BLE001  (mapped in results.py)
            done = result_for(error, ResultKind.SEARCH_DONE, self._log)
            yield Reply(message_id, done, done_controls)

    def search_operations(self, request: SearchRequest) -> Iterator[bytes]:
        """The encoded protocolOps answering a search without controls: entries as the directory
        yields them, then SearchResultDone. The same answer as `respond`, minus the objects."""
        self.log_search(request)
        try:
            for entry in self._directory.search(self.principal, request, now=self._now):
                yield entry_operation(entry)
            yield _SUCCESS_DONE
        except Exception as error:  # noqa: BLE001  (mapped in results.py)
            yield result_operation(result_for(error, ResultKind.SEARCH_DONE, self._log))

    def log_search(self, request: SearchRequest) -> None:
        """Log the search at debug level when the server writes debug lines."""
        # At debug level every search the cache has not seen is logged, so the filters a real
        # Messaging Connector sends (its filter text is configurable) can be captured.
        if not self._log_searches:
            return
        self._log.debug(
            "search base={base!r} scope={scope} filter={filter} attributes={attributes}",
            base=request.base,
            scope=request.scope.name.lower(),
            filter=FilterText(request.filter),
            attributes=",".join(request.attributes),
        )

    def _page(
        self, message_id: int, request: SearchRequest, page: PagedRequest
    ) -> Generator[Reply, None, bytes]:
        """One RFC 2696 page; returns the cookie for the next page, b"" when there is none."""
        if page.cookie:
            entries = self._paged.resume(page.cookie, request, self.principal)
        else:
            entries = iter(self._directory.search(self.principal, request, now=self._now))
        if page.size == 0:  # RFC 2696 §3: size 0 abandons the paged search
            close = getattr(entries, "close", None)
            if close is not None:
                close()
            return b""
        for sent, entry in enumerate(entries, start=1):
            yield Reply(message_id, entry)
            if sent == page.size:
                break
        else:
            return b""
        following = next(entries, None)
        if following is None:
            return b""
        rest: Iterator[SearchResultEntry] = chain((following,), entries)
        return self._paged.suspend(request, self.principal, rest)
