"""The directory as the use-cases see it from a web thread: every call runs on the event loop.

The admin use-cases (ixidir.admin.users) are synchronous: the commands call the Directory
directly. A server must not run them on its loop (a commit or a PBKDF2 hash would stop every
LDAP client), nor touch memory from another thread. So the web runs a use-case on its own
thread with this bridge as its directory: reads run on the loop (memory only, fast); a write
hashes its secrets here, on the web thread, and then goes through the same write queue as LDAP
writes (checked on the loop, committed by the writer thread with group commit, applied, then
answered), exactly as an LDAP modify does (server/session.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, ParamSpec, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.threads import blockingCallFromThread

from ixidir.directory.directory import Directory
from ixidir.directory.dit import Entry
from ixidir.directory.passwords import SecretHashes
from ixidir.directory.requests import (
    AddRequest,
    ModifyRequest,
    Principal,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.state import DirectoryState, PreparedWrite
from ixidir.server.offload import Offload
from ixidir.server.pending import Write

_P = ParamSpec("_P")
_R = TypeVar("_R")


class LoopDirectory:
    """Satisfies ixidir.admin.users.Facade; call it only from a thread other than the loop."""

    def __init__(self, directory: Directory, reactor: Any, offload: Offload) -> None:
        self._directory = directory
        self._reactor = reactor
        self._offload = offload

    @property
    def state(self) -> DirectoryState:
        """For the schema (fixed while serving) and what is documented safe to read off the loop."""
        return self._directory.state

    def search(self, principal: Principal, request: SearchRequest) -> Iterator[SearchResultEntry]:
        found = self._on_loop(_collect, self._directory, principal, request)
        return iter(found)

    def route(self, number: str) -> Entry | None:
        return self._on_loop(self._directory.route, number)

    def add(self, principal: Principal, request: AddRequest) -> None:
        hashes = self._hashes(request)
        directory = self._directory
        self._write(lambda: directory.prepare_add(principal, request, hashes))

    def modify(self, principal: Principal, request: ModifyRequest) -> None:
        hashes = self._hashes(request)
        directory = self._directory
        self._write(lambda: directory.prepare_modify(principal, request, hashes))

    def delete(self, principal: Principal, dn: str) -> None:
        directory = self._directory
        self._write(lambda: directory.prepare_delete(principal, dn))

    def reset_voicemail(
        self,
        principal: Principal,
        user_dn: str,
        *,
        new_pin: bool,
        unlock: bool,
        resend_welcome: bool,
    ) -> bytes | None:
        """The directory's reset in its three steps: planned on the loop (the PIN drawn),
        hashed here, written through the queue; returns the new PIN, its only clear copy."""
        directory = self._directory
        plan = self._on_loop(
            partial(directory.plan_reset_voicemail, principal, user_dn, new_pin=new_pin,
                    unlock=unlock, resend_welcome=resend_welcome)
        )  # fmt: skip
        pin_hash = plan.hashed()
        self._write(lambda: directory.prepare_reset_voicemail(principal, plan, pin_hash))
        return plan.pin

    def _hashes(self, request: AddRequest | ModifyRequest) -> SecretHashes | None:
        """Hash the request's cleartext secrets on this thread (PBKDF2: never on the loop)."""
        cleartext = self._on_loop(self._directory.cleartext_secrets, request)
        return None if cleartext is None else cleartext.compute()

    def _write(self, prepare: Callable[[], PreparedWrite]) -> None:
        self._on_loop(self._submit, prepare)

    def _submit(self, prepare: Callable[[], PreparedWrite]) -> Deferred[None]:
        written: Deferred[None] = Deferred()

        def done(_result: object, error: Exception | None) -> None:
            if error is None:
                written.callback(None)
            else:
                written.errback(error)

        self._offload.start(Write(prepare), done)
        return written

    def _on_loop(self, function: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        result: _R = blockingCallFromThread(self._reactor, function, *args, **kwargs)
        return result


def _collect(
    directory: Directory, principal: Principal, request: SearchRequest
) -> list[SearchResultEntry]:
    return list(directory.search(principal, request))
