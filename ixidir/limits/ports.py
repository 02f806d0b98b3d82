"""The CounterStore port: persistent daily counters per (user, service, local day)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ixidir.limits.policy import Limit, Service


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of one reservation.

    `used` is the day's count after the request: incremented when granted, unchanged when
    refused. `limit` is the limit the request was checked against (None: infinite).
    """

    granted: bool
    used: int
    limit: Limit


@dataclass(frozen=True, slots=True)
class ReserveOp:
    """A reservation decided by the directory (who, which day, which limit), still to count."""

    user_uuid: str
    service: Service
    day: date
    count: int
    limit: Limit


@dataclass(frozen=True, slots=True)
class ReleaseOp:
    user_uuid: str
    service: Service
    day: date
    count: int


CounterOp = ReserveOp | ReleaseOp


def perform(store: CounterStore, op: CounterOp) -> Reservation | int:
    """One operation on its own (its own transaction, where the store has them)."""
    match op:
        case ReserveOp():
            return store.reserve(
                op.user_uuid, op.service, day=op.day, count=op.count, limit=op.limit
            )
        case ReleaseOp():
            return store.release(op.user_uuid, op.service, day=op.day, count=op.count)


class CounterBatch(Protocol):
    """Counts many operations in one transaction (group commit), each decided in order."""

    def run_batch(self, ops: Sequence[CounterOp]) -> list[Reservation | int | Exception]:
        """Each op's outcome in order, or the exception that op alone failed with."""
        ...


class CounterStore(Protocol):
    """Counts sent messages; a reservation is one atomic check-and-increment.

    Concurrent reservations from any number of connections and processes never take a count
    beyond the limit, and an infinite limit (None) still counts. Implementations raise
    `ixidir.directory.ports.StorageError` subtypes when the database fails.
    """

    def reserve(
        self, user_uuid: str, service: Service, *, day: date, count: int, limit: Limit
    ) -> Reservation:
        """Add `count` (>= 1) to the day's count if the result stays within `limit`."""
        ...

    def release(self, user_uuid: str, service: Service, *, day: date, count: int) -> int:
        """Take back `count` (>= 1) after a failed send; never below zero. Returns the count."""
        ...

    def used(self, user_uuid: str, service: Service, *, day: date) -> int:
        """The day's count (0 when nothing was reserved)."""
        ...

    def reset(self, user_uuid: str, service: Service | None, *, day: date) -> None:
        """Set the day's count of one service (None: every service) back to zero."""
        ...

    def purge_before(self, day: date) -> int:
        """Delete the counters of days before `day`; return how many rows went."""
        ...

    def delete_user(self, user_uuid: str) -> None:
        """Forget every count of a user (the user was deleted)."""
        ...
