"""Daily-limit use-cases over the directory: reserve, release, show and reset a user's counts.

The user is named by DN; its entryUUID keys the counters, its `ixi…DailyLimit…` attributes and
the server-defaults entry (`cn=ums-defaults,<base>`) give the limit (limits.policy), and the
site's local day (ixiDailyLimitTimeZone) picks the counter row. Only the administrator and the
configured service accounts (the Messaging Connector) may reserve, release or read counts;
resetting is the administrator's alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from ixidir.directory.directory import Directory
from ixidir.directory.dit import Entry
from ixidir.directory.ports import StorageError, StorageUnavailable
from ixidir.directory.requests import AccessClass, Principal
from ixidir.errors import (
    InsufficientAccessRights,
    NoSuchObject,
    OperationsError,
    Unavailable,
)
from ixidir.limits import (
    DEFAULT_KEEP_DAYS,
    CounterStore,
    InvalidTimeZone,
    Limit,
    LimitDecision,
    Reservation,
    Service,
    decide_limit,
    limit_time_zone,
    local_day,
    purge_cutoff,
)
from ixidir.limits.ports import ReleaseOp, ReserveOp

_T = TypeVar("_T")
# Read-only operational attributes computed on read (issue 4).
SENT_TODAY = {
    Service.FAX: "ixiFaxSentToday",
    Service.SMS: "ixiSmsSentToday",
    Service.VOICE: "ixiVoiceSentToday",
}
_IXI_USER = b"ixiumsuser"


def _is_ixi_user(entry: Entry) -> bool:
    return any(value.lower() == _IXI_USER for value in entry.attributes.get("objectClass", ()))


_COUNTING = frozenset({AccessClass.ADMIN, AccessClass.SERVICE})


@dataclass(frozen=True, slots=True)
class ServiceUsage:
    """One service's line of `ixidir limits show`: the decision, today's count, what is left."""

    service: Service
    decision: LimitDecision
    used: int

    @property
    def remaining(self) -> Limit:
        limit = self.decision.limit
        return None if limit is None else max(limit - self.used, 0)


class DailyLimits:
    """Reserve and release sends against a user's daily limit (issue 4)."""

    def __init__(
        self,
        *,
        directory: Directory,
        counters: CounterStore,
        clock: Callable[[], datetime],
        keep_days: int = DEFAULT_KEEP_DAYS,
        answers_reads: bool = True,
    ) -> None:
        """`answers_reads`: this instance computes the ixi…SentToday attributes of searches.
        Only one per directory may (its counter connection is used by the search's thread); a
        second one for other threads (the web UI's) passes False."""
        self._state = directory.state
        self._counters = counters
        self._clock = clock
        self._keep_days = keep_days
        if answers_reads:
            for service, name in SENT_TODAY.items():
                self._state.computed[name] = self._sent_today(service)

    def _sent_today(self, service: Service) -> Callable[[Entry], tuple[bytes, ...] | None]:
        """The read-only ixi…SentToday attribute: today's count, for users with ixi settings."""

        def compute(entry: Entry) -> tuple[bytes, ...] | None:
            if not _is_ixi_user(entry):
                return None
            day = self._today(self._defaults())
            return (str(self._used(entry.uuid, service, day)).encode("ascii"),)

        return compute

    def reserve(
        self, principal: Principal, user_dn: str, service: Service, *, count: int = 1
    ) -> Reservation:
        """Count `count` sends if the user's limit allows; refused requests change nothing."""
        op = self.plan_reserve(principal, user_dn, service, count=count)
        return _storing(lambda: self._counters.reserve(**_fields(op), limit=op.limit))

    def plan_reserve(
        self, principal: Principal, user_dn: str, service: Service, *, count: int = 1
    ) -> ReserveOp:
        """Everything of a reservation but counting: rights, the user, its limit, the day.

        A server counts the returned operation on its counters writer (group commit)."""
        entry = self._user(principal, user_dn, _COUNTING)
        defaults = self._defaults()
        limit = decide_limit(entry.attributes, defaults, service=service).limit
        return ReserveOp(entry.uuid, service, self._today(defaults), count, limit)

    def release(
        self, principal: Principal, user_dn: str, service: Service, *, count: int = 1
    ) -> int:
        """Give back `count` sends of today (a failed transmission); never below zero."""
        op = self.plan_release(principal, user_dn, service, count=count)
        return _storing(lambda: self._counters.release(**_fields(op)))

    def plan_release(
        self, principal: Principal, user_dn: str, service: Service, *, count: int = 1
    ) -> ReleaseOp:
        entry = self._user(principal, user_dn, _COUNTING)
        return ReleaseOp(entry.uuid, service, self._today(self._defaults()), count)

    def usage(self, principal: Principal, user_dn: str) -> list[ServiceUsage]:
        """Per service: the effective limit, where it comes from, and today's count."""
        entry = self._user(principal, user_dn, _COUNTING)
        defaults = self._defaults()
        day = self._today(defaults)
        usage = []
        for service in Service:
            used = self._used(entry.uuid, service, day)
            decision = decide_limit(entry.attributes, defaults, service=service)
            usage.append(ServiceUsage(service, decision, used))
        return usage

    def _used(self, uuid: str, service: Service, day: date) -> int:
        return _storing(lambda: self._counters.used(uuid, service, day=day))

    def reset(self, principal: Principal, user_dn: str, service: Service | None) -> None:
        """Set today's count of one service (None: all) back to zero; administrator only."""
        entry = self._user(principal, user_dn, frozenset({AccessClass.ADMIN}))
        day = self._today(self._defaults())
        _storing(lambda: self._counters.reset(entry.uuid, service, day=day))

    def purge(self) -> int:
        """Delete counters older than `keep_days` local days; return the rows deleted."""
        cutoff = purge_cutoff(self._today(self._defaults()), self._keep_days)
        return _storing(lambda: self._counters.purge_before(cutoff))

    def _user(self, principal: Principal, user_dn: str, allowed: frozenset[AccessClass]) -> Entry:
        # Rights first: a caller without them learns nothing about which users exist.
        if principal.access not in allowed:
            raise InsufficientAccessRights("daily limits: not allowed for this identity")
        _, key = self._state.parse_dn(user_dn)
        entry = self._state.dit.get(key)
        if entry is None:
            raise NoSuchObject(f"no such object: {user_dn}")
        return entry

    def _defaults(self) -> Mapping[str, Sequence[bytes]]:
        entry = self._state.dit.get(self._state.defaults_key)
        return {} if entry is None else entry.attributes

    def _today(self, defaults: Mapping[str, Sequence[bytes]]) -> date:
        try:
            return local_day(self._clock(), limit_time_zone(defaults))
        except InvalidTimeZone as exc:
            raise OperationsError(f"ixiDailyLimitTimeZone: {exc}") from exc


def _fields(op: ReserveOp | ReleaseOp) -> dict[str, Any]:
    return {
        "user_uuid": op.user_uuid,
        "service": op.service,
        "day": op.day,
        "count": op.count,
    }


def _storing(call: Callable[[], _T]) -> _T:
    """Run a counter-store call, its failures turned into result codes."""
    try:
        return call()
    except StorageUnavailable as exc:
        raise Unavailable("the counter store is unavailable") from exc
    except StorageError as exc:
        raise OperationsError("the counter store failed") from exc
