"""Inbound routing: canonical E.164 keys for telephone numbers and the index of owners."""

from __future__ import annotations

from ixidir.routing.e164 import (
    MAX_KEY_DIGITS,
    MIN_KEY_DIGITS,
    InvalidNumber,
    assertion_key,
    canonicalize,
    is_plausible,
)
from ixidir.routing.index import (
    DEFAULT_ROUTING_ATTRIBUTES,
    Conflict,
    NumberTaken,
    RebuildReport,
    RoutingIndex,
    UnreadableValue,
    route,
)
from ixidir.routing.site import SITE_ATTRIBUTES, SiteSettings

__all__ = [
    "DEFAULT_ROUTING_ATTRIBUTES",
    "MAX_KEY_DIGITS",
    "MIN_KEY_DIGITS",
    "SITE_ATTRIBUTES",
    "Conflict",
    "InvalidNumber",
    "NumberTaken",
    "RebuildReport",
    "RoutingIndex",
    "SiteSettings",
    "UnreadableValue",
    "assertion_key",
    "canonicalize",
    "is_plausible",
    "route",
]
