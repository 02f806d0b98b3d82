"""Operational attributes (RFC 4512 §3.4): the ones we store and the ones computed on read."""

from __future__ import annotations

from datetime import UTC, datetime

SUBSCHEMA_DN = "cn=Subschema"
# Kept in the entry's attributes (so they persist) and set by the server only.
CREATE_TIMESTAMP = "createTimestamp"
MODIFY_TIMESTAMP = "modifyTimestamp"
CREATORS_NAME = "creatorsName"
MODIFIERS_NAME = "modifiersName"
ENTRY_UUID = "entryUUID"
STRUCTURAL_OBJECT_CLASS = "structuralObjectClass"
STORED = frozenset(
    {
        CREATE_TIMESTAMP,
        MODIFY_TIMESTAMP,
        CREATORS_NAME,
        MODIFIERS_NAME,
        ENTRY_UUID,
        STRUCTURAL_OBJECT_CLASS,
    }
)
# Computed from the DIT on every read; never stored.
ENTRY_DN = "entryDN"
HAS_SUBORDINATES = "hasSubordinates"
SUBSCHEMA_SUBENTRY = "subschemaSubentry"
COMPUTED = (ENTRY_DN, HAS_SUBORDINATES, SUBSCHEMA_SUBENTRY)


def generalized_time(moment: datetime) -> bytes:
    """RFC 4517 §3.3.13 GeneralizedTime in UTC, seconds precision, as OpenLDAP writes it."""
    if moment.tzinfo is None:
        raise ValueError("the directory clock must return aware datetimes")
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode("ascii")


def creation_stamps(
    *, creator: str, moment: datetime, uuid: str, structural: str
) -> dict[str, tuple[bytes, ...]]:
    """The stored operational attributes of a new entry."""
    when = (generalized_time(moment),)
    who = (creator.encode("utf-8"),)
    return {
        CREATE_TIMESTAMP: when,
        MODIFY_TIMESTAMP: when,
        CREATORS_NAME: who,
        MODIFIERS_NAME: who,
        ENTRY_UUID: (uuid.encode("ascii"),),
        STRUCTURAL_OBJECT_CLASS: (structural.encode("utf-8"),),
    }


def modification_stamps(*, modifier: str, moment: datetime) -> dict[str, tuple[bytes, ...]]:
    return {
        MODIFY_TIMESTAMP: (generalized_time(moment),),
        MODIFIERS_NAME: (modifier.encode("utf-8"),),
    }
