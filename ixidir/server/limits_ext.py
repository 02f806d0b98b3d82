"""The daily-limit extended operations (issue 4): reserve and release, BER in and out.

    LimitRequestValue ::= SEQUENCE {
        user     LDAPDN,
        service  ENUMERATED { fax(0), sms(1), voice(2) },
        count    INTEGER DEFAULT 1 }
    ReserveResponseValue ::= SEQUENCE { granted BOOLEAN, used INTEGER, limit INTEGER }
    ReleaseResponseValue ::= SEQUENCE { used INTEGER }

`limit` -1 means infinite; `used` is the day's count after the request. A refusal is still
resultCode success (granted FALSE). Both go into the server's extended-op table via
`limit_handlers`, merged with `extended.standard_handlers()` where the server is composed.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

from ixidir.directory.limits import DailyLimits
from ixidir.errors import OperationsError, ProtocolError
from ixidir.limits import MAX_COUNT, Reservation, Service
from ixidir.server import ber
from ixidir.server.extended import ExtendedCall, ExtendedHandler, ExtendedReply
from ixidir.server.pending import Count, Pending

RESERVE_OID = "2.25.36358030867219218258049950064569224190.3.1"
RELEASE_OID = "2.25.36358030867219218258049950064569224190.3.2"
INFINITE = -1


@dataclass(frozen=True, slots=True)
class LimitRequest:
    user: str
    service: Service
    count: int = 1


def decode_limit_request(value: bytes | None) -> LimitRequest:
    """The request value, strictly: anything else is protocolError (issue 4)."""
    if value is None:
        raise ProtocolError("the daily-limit operation needs a request value")
    parts = ber.sequence_items(value, "daily-limit request value")
    if not 2 <= len(parts) <= 3:
        raise ProtocolError("malformed daily-limit request value")
    (user_tag, user_start, user_end), (service_tag, service_start, service_end), *rest = parts
    if user_tag != ber.OCTETS or service_tag != ber.ENUMERATED:
        raise ProtocolError("daily-limit request: expected user LDAPDN and service ENUMERATED")
    if rest and rest[0][0] != ber.INTEGER:
        raise ProtocolError("daily-limit request: count must be an INTEGER")
    service = ber.integer(value, service_start, service_end, "daily-limit service", -(2**31))
    count = ber.integer(value, rest[0][1], rest[0][2], "count", -(2**31)) if rest else 1
    if not 1 <= count <= MAX_COUNT:
        raise ProtocolError(f"daily-limit request: count must be 1..{MAX_COUNT}")
    try:
        return LimitRequest(value[user_start:user_end].decode("utf-8"), Service(service), count)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("daily-limit request: bad user DN or unknown service") from exc


def limit_handlers(
    limits: DailyLimits, *, on_reservation: Callable[[Service, bool], None] | None = None
) -> dict[str, ExtendedHandler]:
    """The two operations, bound to the use-case (add to the server's handler table).
    `on_reservation(service, granted)` is told each reservation's outcome (the metrics)."""

    def reserve(call: ExtendedCall) -> Generator[Pending, None, ExtendedReply]:
        request = decode_limit_request(call.value)
        op = limits.plan_reserve(call.principal, request.user, request.service, count=request.count)
        counted = Pending(Count(op))  # on the counters writer, with the others queued
        yield counted
        result = counted.outcome()
        if not isinstance(result, Reservation):
            raise OperationsError("the counter store answered a reservation wrongly")
        if on_reservation is not None:
            on_reservation(request.service, result.granted)
        limit = INFINITE if result.limit is None else result.limit
        value = ber.sequence(
            ber.boolean_tlv(result.granted), ber.integer_tlv(result.used), ber.integer_tlv(limit)
        )
        return ExtendedReply(name=RESERVE_OID, value=value)

    def release(call: ExtendedCall) -> Generator[Pending, None, ExtendedReply]:
        request = decode_limit_request(call.value)
        op = limits.plan_release(call.principal, request.user, request.service, count=request.count)
        counted = Pending(Count(op))
        yield counted
        used = counted.outcome()
        if not isinstance(used, int):
            raise OperationsError("the counter store answered a release wrongly")
        return ExtendedReply(name=RELEASE_OID, value=ber.sequence(ber.integer_tlv(used)))

    return {RESERVE_OID: reserve, RELEASE_OID: release}
