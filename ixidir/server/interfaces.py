"""The Twisted interfaces the protocol calls, as typing.Protocols that mypy can check.

Twisted's zope interfaces are opaque to mypy; these name exactly the methods we use, so a real
transport and reactor, and `StringTransport`/`Clock` in tests, all fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class DelayedCall(Protocol):
    def active(self) -> bool: ...

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The part of IReactorTime we use (a reactor, or twisted.internet.task.Clock in tests)."""

    def seconds(self) -> float: ...

    def callLater(  # noqa: N802 (Twisted's name)
        self, delay: float, callable: Callable[..., object], /, *args: object
    ) -> DelayedCall: ...


class Transport(Protocol):
    """The parts of ITCPTransport, IProducer and ITLSTransport this protocol calls."""

    def write(self, data: bytes, /) -> None: ...

    def loseConnection(self) -> None: ...  # noqa: N802

    def registerProducer(self, producer: object, streaming: bool, /) -> None: ...  # noqa: N802

    def pauseProducing(self) -> None: ...  # noqa: N802

    def resumeProducing(self) -> None: ...  # noqa: N802

    def startTLS(self, context: object, /) -> None: ...  # noqa: N802

    def getPeer(self) -> object: ...  # noqa: N802 (an IAddress; TCP ones have `host`)
