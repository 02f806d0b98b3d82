"""What the server needs from the directory: the facade's methods, as a typing.Protocol.

`ixidir.directory.directory.Directory` satisfies it; naming it here keeps the server's view of
the core narrow and lets mypy check the adapter against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from ixidir.directory.dit import Entry
from ixidir.directory.ops.lookup import Found
from ixidir.directory.ops.selection import Selected
from ixidir.directory.requests import (
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    Principal,
    SearchRequest,
    SearchResultEntry,
)


class Directory(Protocol):
    @property
    def generation(self) -> int: ...

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

    def lookup(self, principal: Principal, request: SearchRequest) -> Found | None: ...

    def present(self, found: Found, entry: Entry) -> Selected: ...

    def compare(self, principal: Principal, dn: str, attr: str, value: bytes) -> bool: ...

    def add(self, principal: Principal, request: AddRequest) -> None: ...

    def modify(self, principal: Principal, request: ModifyRequest) -> None: ...

    def delete(self, principal: Principal, dn: str) -> None: ...

    def modify_dn(self, principal: Principal, request: ModifyDNRequest) -> None: ...

    def password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> bytes | None: ...

    def who_am_i(self, principal: Principal) -> str: ...
