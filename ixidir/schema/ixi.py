"""The ixi schema's rules that a schema file cannot express (SCHEMA.md): enumeration tokens,
INTEGER ranges and cross-attribute constraints.

Decisions: a token outside its list is invalidAttributeSyntax (21), as SCHEMA.md says; an INTEGER
outside its range is constraintViolation (19), because the value is a valid INTEGER and only the
ixi constraint rejects it; cross-attribute rules are constraintViolation (19).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ixidir.errors import ConstraintViolation, InvalidAttributeSyntax

_PERMISSION = ("default", "none", "internal", "local", "national", "international")
_LIMIT_MODE = ("default", "infinite", "custom")

# Attribute primary name -> allowed tokens (compared case-insensitively).
ENUM_TOKENS: Mapping[str, tuple[str, ...]] = {
    "ixiDeliveryReportMode": ("default", "send", "suppress"),
    "ixiFaxPermission": _PERMISSION,
    "ixiFaxDailyLimitMode": _LIMIT_MODE,
    "ixiFaxInboundFormat": ("tif", "pdf"),
    "ixiSmsPermission": _PERMISSION,
    "ixiSmsDailyLimitMode": _LIMIT_MODE,
    "ixiVoicePermission": _PERMISSION,
    "ixiVoiceDailyLimitMode": _LIMIT_MODE,
    "ixiVmAccessMode": ("default", "mailboxOnly", "phoneConfig", "remoteInquiry"),
    "ixiVmGreetingType": ("default", "individual", "personalized"),
    "ixiVmTransferAnnouncedBy": ("default", "user", "userAndSystem"),
    "ixiVmLanguageDetection": ("default", "callerNumber", "askCaller"),
    "ixiVmLoginScope": ("default", "any", "restricted", "none"),
    "ixiNotifyDevice": ("mwi", "sms", "call"),
    "ixiNotifyMessageType": ("voice", "fax", "sms", "email"),
}

# Attribute primary name -> (lowest, highest) allowed INTEGER; None = unbounded.
INTEGER_RANGES: Mapping[str, tuple[int | None, int | None]] = {
    "ixiFaxMaxPriority": (0, 2),
    "ixiFaxMaxPages": (1, None),
    "ixiFaxDailyLimit": (0, None),
    "ixiSmsDailyLimit": (0, None),
    "ixiVoiceDailyLimit": (0, None),
    "ixiNotifyThreshold": (1, None),
    "ixiVmPinFailedCount": (0, None),
    "ixiSiteDdiLength": (0, None),
    "ixiVmPinMaxFailures": (1, None),
    "ixiVmPinLockoutSeconds": (0, None),
    "ixiChangelogKeepDays": (0, None),
    "ixiChangelogMaxEntries": (1, None),
    "ixiBindMaxFailures": (0, None),
    "ixiBindFailureWindow": (1, None),
    "ixiBindLockout": (0, None),
    "ixiBindAddressFailures": (0, None),
    "ixiBindAddressWindow": (1, None),
    "ixiBindAddressBlock": (1, None),
}

# The daily-limit pairs: (mode attribute, limit attribute).
DAILY_LIMITS = (
    ("ixiFaxDailyLimitMode", "ixiFaxDailyLimit"),
    ("ixiSmsDailyLimitMode", "ixiSmsDailyLimit"),
    ("ixiVoiceDailyLimitMode", "ixiVoiceDailyLimit"),
)
SERVER_DEFAULTS_CLASS = "ixiUmsServerDefaults"
SERVER_DEFAULTS_OID = "2.25.36358030867219218258049950064569224190.2.2"
# On ixiUmsServerDefaults a mode may not defer to "the system default": it is the default.
_SERVER_DEFAULT_MODES = frozenset({"infinite", "custom"})


# Templates for new users on the server-defaults entry (issue 5): `{attribute}` or
# `{attribute:N}` (the first N characters); any other brace is a typo, refused as
# invalidAttributeSyntax so `ldapmodify` cannot store a template `ixidir user add` cannot use.
TEMPLATE_ATTRIBUTES = ("ixiDisplayNameTemplate", "ixiMailTemplate", "ixiUidTemplate")
TEMPLATE_PLACEHOLDER = re.compile(
    r"\{(?P<attr>[A-Za-z][A-Za-z0-9-]*)(?::(?P<length>[1-9][0-9]*))?\}"
)


def check_template(attr: str, template: str) -> None:
    """Refuse a template with a malformed placeholder, or a mail template without its `@`."""
    literal = TEMPLATE_PLACEHOLDER.sub("", template)
    if "{" in literal or "}" in literal:
        raise InvalidAttributeSyntax(
            f"{attr}: {template!r}: placeholders are {{attribute}} or {{attribute:N}}"
        )
    if attr == "ixiMailTemplate" and literal.count("@") != 1:
        raise InvalidAttributeSyntax(f"{attr}: {template!r}: needs exactly one '@' outside {{}}")


def _is_server_defaults(attributes: Mapping[str, Sequence[bytes]]) -> bool:
    wanted = {SERVER_DEFAULTS_CLASS.lower(), SERVER_DEFAULTS_OID}
    return any(v.decode("utf-8", "replace").strip().lower() in wanted
               for v in attributes.get("objectClass", ()))  # fmt: skip


def check_ixi_rules(attributes: Mapping[str, Sequence[bytes]]) -> None:
    """SCHEMA.md cross-attribute rules (keys are primary names); raise ConstraintViolation."""
    for attr in TEMPLATE_ATTRIBUTES:
        for value in attributes.get(attr) or ():
            check_template(attr, value.decode("utf-8", "replace"))
    is_defaults = _is_server_defaults(attributes)
    for mode_attr, limit_attr in DAILY_LIMITS:
        modes = attributes.get(mode_attr) or ()
        mode = modes[0].decode("ascii", "replace").lower() if modes else None
        has_limit = bool(attributes.get(limit_attr))
        if is_defaults and mode is not None and mode not in _SERVER_DEFAULT_MODES:
            raise ConstraintViolation(
                f"{mode_attr}: on {SERVER_DEFAULTS_CLASS} only 'infinite' or 'custom' is allowed"
            )
        if has_limit and mode != "custom":
            raise ConstraintViolation(f"{limit_attr} requires {mode_attr}=custom")
        if mode == "custom" and not has_limit:
            raise ConstraintViolation(f"{mode_attr}=custom requires {limit_attr}")
