"""The two entries outside the DIT: the root DSE (RFC 4512 §5.1) and cn=Subschema (§4.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ixidir.directory.operational import SUBSCHEMA_DN
from ixidir.directory.requests import AccessClass, Principal
from ixidir.directory.state import DirectoryState

Attributes = dict[str, tuple[bytes, ...]]
# The counters tell how busy the server is and which numbers miss: for operators only.
_SEES_COUNTERS = frozenset({AccessClass.ADMIN, AccessClass.SERVICE})


def root_dse(state: DirectoryState, principal: Principal) -> Attributes:
    """namingContexts, versions and subschema; the server adds its controls and extensions.
    The administrator and service accounts also see the process's counters."""
    attributes: Attributes = {
        "objectClass": (b"top",),
        "namingContexts": (str(state.base_dn).encode("utf-8"),),
        "supportedLDAPVersion": (b"3",),
        "subschemaSubentry": (SUBSCHEMA_DN.encode("ascii"),),
    }
    attributes.update(_extra(state.settings.root_dse_extra))
    if principal.access not in _SEES_COUNTERS:
        return attributes
    for name, count in state.statistics.items():
        attributes[name] = (str(count()).encode("ascii"),)
    return attributes


def subschema_entry(state: DirectoryState) -> Attributes:
    """OpenLDAP's shape: objectClass top/subentry/subschema, cn, and the schema descriptions."""
    attributes: Attributes = {
        "objectClass": (b"top", b"subentry", b"subschema", b"extensibleObject"),
        "cn": (b"Subschema",),
        "structuralObjectClass": (b"subentry",),
        "entryDN": (SUBSCHEMA_DN.encode("ascii"),),
        "subschemaSubentry": (SUBSCHEMA_DN.encode("ascii"),),
    }
    for name, values in state.schema.subschema_attributes().items():
        attributes[name] = tuple(values)
    return attributes


def _extra(extra: Mapping[str, Sequence[bytes]]) -> Attributes:
    return {name: tuple(values) for name, values in extra.items()}
