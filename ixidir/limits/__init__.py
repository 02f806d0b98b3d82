"""Daily send limits: policy (which limit applies), the local day, and the CounterStore port."""

from __future__ import annotations

from ixidir.limits.day import (
    DEFAULT_KEEP_DAYS,
    DEFAULT_TIME_ZONE,
    InvalidTimeZone,
    local_day,
    purge_cutoff,
    time_zone,
)
from ixidir.limits.policy import (
    MAX_COUNT,
    MAX_LIMIT,
    Limit,
    LimitDecision,
    Service,
    Source,
    decide_limit,
    effective_limit,
    is_enabled,
    limit_time_zone,
)
from ixidir.limits.ports import CounterStore, Reservation

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "DEFAULT_TIME_ZONE",
    "MAX_COUNT",
    "MAX_LIMIT",
    "CounterStore",
    "InvalidTimeZone",
    "Limit",
    "LimitDecision",
    "Reservation",
    "Service",
    "Source",
    "decide_limit",
    "effective_limit",
    "is_enabled",
    "limit_time_zone",
    "local_day",
    "purge_cutoff",
    "time_zone",
]
