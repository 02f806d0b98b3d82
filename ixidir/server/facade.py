"""What the server needs from the directory: the facade's methods, as a typing.Protocol.

`ixidir.directory.directory.Directory` satisfies it; naming it here keeps the server's view of
the core narrow and lets mypy check the adapter against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ixidir.directory.dit import Entry
from ixidir.directory.ops.bind import BindCheck
from ixidir.directory.ops.compare import SecretCheck
from ixidir.directory.ops.lookup import Shape
from ixidir.directory.ops.password import PasswordChange
from ixidir.directory.ops.selection import Selected
from ixidir.directory.passwords import Cleartext, SecretHashes
from ixidir.directory.pins import PinCheck, PinResult
from ixidir.directory.requests import (
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    Principal,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.state import PreparedWrite


class Directory(Protocol):
    @property
    def generation(self) -> int: ...

    @property
    def layout(self) -> int: ...

    @property
    def sequence(self) -> int: ...

    def bind(self, dn: str, password: bytes) -> Principal: ...

    def search(
        self,
        principal: Principal,
        request: SearchRequest,
        *,
        now: Callable[[], float] | None = None,
    ) -> Iterator[SearchResultEntry]: ...

    def routing_shape(self, principal: Principal, request: SearchRequest) -> Shape | None: ...

    def is_number_attribute(self, attr: str) -> bool: ...

    def find(self, shape: Shape, value: bytes) -> tuple[Entry, ...] | None: ...

    def present(self, shape: Shape, entry: Entry) -> Selected: ...

    def compare(self, principal: Principal, dn: str, attr: str, value: bytes) -> bool: ...

    def begin_compare(
        self, principal: Principal, dn: str, attr: str, value: bytes
    ) -> bool | PinCheck | SecretCheck: ...

    def begin_verify_pin(
        self, principal: Principal, user_dn: str, pin: bytes
    ) -> PinResult | PinCheck: ...

    def settle_pin(self, check: PinCheck, matched: bool) -> tuple[PinResult, Entry | None]: ...

    def prepare_puts(self, entries: Sequence[Entry]) -> PreparedWrite: ...

    def add(self, principal: Principal, request: AddRequest) -> None: ...

    def modify(self, principal: Principal, request: ModifyRequest) -> None: ...

    def delete(self, principal: Principal, dn: str) -> None: ...

    def modify_dn(self, principal: Principal, request: ModifyDNRequest) -> None: ...

    def password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> bytes | None: ...

    def who_am_i(self, principal: Principal) -> str: ...

    def begin_password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> PasswordChange: ...

    def prepare_password(
        self, principal: Principal, change: PasswordChange, hashed: bytes
    ) -> PreparedWrite: ...

    def begin_bind(self, dn: str, password: bytes) -> Principal | BindCheck: ...

    def finish_bind(self, check: BindCheck, matched: bytes | None) -> Principal: ...

    def cleartext_secrets(self, request: AddRequest | ModifyRequest) -> Cleartext | None: ...

    def prepare_add(
        self, principal: Principal, request: AddRequest, hashes: SecretHashes | None = None
    ) -> PreparedWrite: ...

    def prepare_modify(
        self, principal: Principal, request: ModifyRequest, hashes: SecretHashes | None = None
    ) -> PreparedWrite: ...

    def prepare_delete(self, principal: Principal, dn: str) -> PreparedWrite: ...

    def prepare_modify_dn(
        self, principal: Principal, request: ModifyDNRequest
    ) -> PreparedWrite: ...

    def write_prepared(self, prepared: PreparedWrite) -> None: ...
