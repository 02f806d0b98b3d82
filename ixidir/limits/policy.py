"""Daily-limit policy: which limit applies to a user and service, from the user and server defaults.

The manual (ixi-UMS Framework §4.4.1.2-4.4.1.4, "Max. Fax/SMS/Voice per day") defines per user
System default / Infinite / Custom N, the user's setting overriding the server's, and limits count
only when the kernel's "AddOns - Daily Limit" switch is on. Voice and TTS count together.

Decisions (SCHEMA.md leaves them open):
- `ixiDailyLimitEnabled` absent means limits are OFF. The manual says the limitation must be
  *activated* in the kernel configuration, so the vendor's out-of-the-box state is off; a fresh
  directory behaves like a fresh kernel.
- The `…DailyLimit` number is read only when the mode is `custom` (the vendor's number field
  belongs to "Custom"); on the server-defaults entry an absent mode means `infinite`.
- Malformed settings fail closed: an unknown mode token, a `custom` mode without a readable
  non-negative INTEGER, several values of a single-valued attribute, or a mode `default` on the
  server-defaults entry give the limit 0 (nothing is granted), and a `ixiDailyLimitEnabled` that
  is neither TRUE nor FALSE counts as enabled. The write path rejects such data (SCHEMA.md: 21/19),
  so it only appears through repairs behind the server's back; refusing sends is visible to the
  administrator at once, silently lifting a limit is not. `LimitDecision.problem` says what was
  wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import TypeAlias

from ixidir.limits.day import DEFAULT_TIME_ZONE

# None is "infinite"; an int is the number of messages allowed per local day (0 grants nothing).
Limit: TypeAlias = int | None

# Counters are Firebird BIGINT; a larger configured limit can never be reached, so it is clamped.
MAX_LIMIT = 2**63 - 1
# The largest count one request may reserve or release (a 32-bit INTEGER, as LDAP servers bound it).
MAX_COUNT = 2**31 - 1

ATTR_ENABLED = "ixiDailyLimitEnabled"
ATTR_TIME_ZONE = "ixiDailyLimitTimeZone"
# RFC 4517 §3.3.16 INTEGER, restricted to >= 0 as SCHEMA.md defines `…DailyLimit`.
_NON_NEGATIVE_INTEGER = re.compile(rb"0|[1-9][0-9]*")


class Service(IntEnum):
    """What is being sent; the values are the extended operation's ENUMERATED (issue 4)."""

    FAX = 0
    SMS = 1
    VOICE = 2  # voice and TTS messages count together (manual §4.4.1.4)

    @property
    def attribute_stem(self) -> str:
        """The `ixi<Stem>DailyLimit…` part of the schema's attribute names."""
        return _STEMS[self]

    @property
    def mode_attribute(self) -> str:
        return f"ixi{self.attribute_stem}DailyLimitMode"

    @property
    def limit_attribute(self) -> str:
        return f"ixi{self.attribute_stem}DailyLimit"


_STEMS = {Service.FAX: "Fax", Service.SMS: "Sms", Service.VOICE: "Voice"}


class Source(Enum):
    """Where the effective limit came from (for `ixidir limits show` and logs)."""

    DISABLED = "disabled"  # ixiDailyLimitEnabled is not TRUE: no limits at all
    USER = "user"  # the user's infinite/custom setting
    SERVER = "server"  # the user says default (or nothing): the server-defaults entry


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """The limit that applies, why, and what was malformed if the fail-closed rule was used."""

    limit: Limit
    source: Source
    problem: str | None = None


def effective_limit(
    user: Mapping[str, Sequence[bytes]],
    defaults: Mapping[str, Sequence[bytes]],
    *,
    service: Service,
) -> Limit:
    """The number of `service` messages the user may send per local day (None: no limit)."""
    return decide_limit(user, defaults, service=service).limit


def decide_limit(
    user: Mapping[str, Sequence[bytes]],
    defaults: Mapping[str, Sequence[bytes]],
    *,
    service: Service,
) -> LimitDecision:
    """Like `effective_limit`, with the source and any problem found in the settings."""
    enabled, problem = _enabled(defaults)
    if not enabled:
        return LimitDecision(None, Source.DISABLED)
    mode = _single(user, service.mode_attribute)
    if mode is None or (isinstance(mode, bytes) and mode.lower() == b"default"):
        limit, server_problem = _server_limit(defaults, service)
        return LimitDecision(limit, Source.SERVER, problem or server_problem)
    limit, user_problem = _mode_limit(user, service, mode)
    return LimitDecision(limit, Source.USER, problem or user_problem)


def is_enabled(defaults: Mapping[str, Sequence[bytes]]) -> bool:
    """Whether daily limits apply at all (the kernel's "AddOns - Daily Limit" switch)."""
    return _enabled(defaults)[0]


def limit_time_zone(defaults: Mapping[str, Sequence[bytes]]) -> str:
    """The IANA zone whose midnight starts a new counting day (absent: DEFAULT_TIME_ZONE).

    Returned unchecked: `day.local_day` raises InvalidTimeZone for a name it does not know, so a
    broken setting is reported rather than silently moving the day boundary.
    """
    value = _single(defaults, ATTR_TIME_ZONE)
    if value is None:
        return DEFAULT_TIME_ZONE
    if not isinstance(value, bytes):
        return "<several values>"
    return value.decode("ascii", "replace")


def _enabled(defaults: Mapping[str, Sequence[bytes]]) -> tuple[bool, str | None]:
    value = _single(defaults, ATTR_ENABLED)
    if value is None or value == b"FALSE":  # absent: the vendor's default, switched off
        return False, None
    if value == b"TRUE":  # RFC 4517 §3.3.3: exactly TRUE or FALSE
        return True, None
    return True, f"{ATTR_ENABLED}: {_show(value)} is not TRUE or FALSE; limits are applied"


def _server_limit(
    defaults: Mapping[str, Sequence[bytes]], service: Service
) -> tuple[Limit, str | None]:
    mode = _single(defaults, service.mode_attribute)
    if mode is None:  # no system default configured for this service
        return None, None
    if isinstance(mode, bytes) and mode.lower() == b"default":
        return 0, f"{service.mode_attribute}: 'default' is not allowed on the server defaults"
    return _mode_limit(defaults, service, mode)


def _mode_limit(
    attrs: Mapping[str, Sequence[bytes]], service: Service, mode: bytes | _Several
) -> tuple[Limit, str | None]:
    """Read an explicit `infinite` or `custom` mode; anything else fails closed to 0."""
    if not isinstance(mode, bytes):
        return 0, f"{service.mode_attribute}: several values on a single-valued attribute"
    token = mode.lower()  # caseIgnoreIA5Match
    if token == b"infinite":
        return None, None
    if token != b"custom":
        return 0, f"{service.mode_attribute}: unknown mode {_show(mode)}"
    value = _single(attrs, service.limit_attribute)
    if not isinstance(value, bytes) or not _NON_NEGATIVE_INTEGER.fullmatch(value):
        shown = "absent" if value is None else _show(value)
        return 0, f"{service.limit_attribute}: {shown} is not a non-negative INTEGER"
    return min(int(value), MAX_LIMIT), None


class _Several:
    """Marker for a single-valued attribute that holds more than one value."""


_SEVERAL = _Several()


def _single(attrs: Mapping[str, Sequence[bytes]], name: str) -> bytes | _Several | None:
    """The one value of `name`; attribute names match case-insensitively (RFC 4512 §2.5)."""
    values = attrs.get(name)
    if values is None:
        wanted = name.lower()
        values = next((v for k, v in attrs.items() if k.lower() == wanted), None)
    if not values:
        return None
    if len(values) > 1:
        return _SEVERAL
    return bytes(values[0])


def _show(value: bytes | _Several) -> str:
    return "several values" if isinstance(value, _Several) else repr(value[:40])
