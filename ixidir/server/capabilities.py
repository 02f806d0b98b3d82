"""What the root DSE advertises about this server's protocol support (RFC 4512 §5.1)."""

from __future__ import annotations

from collections.abc import Iterable

from ixidir import __version__
from ixidir.server.controls import SUPPORTED_CONTROLS
from ixidir.server.extended import standard_handlers

# RFC 3673 all operational attributes ("+"), RFC 4529 "@objectClass" attribute lists,
# RFC 4526 absolute true "(&)" and false "(|)" filters.
SUPPORTED_FEATURES = (
    "1.3.6.1.4.1.4203.1.5.1",
    "1.3.6.1.4.1.4203.1.5.2",
    "1.3.6.1.4.1.4203.1.5.3",
)


def root_dse_extra(extended_oids: Iterable[str] | None = None) -> dict[str, tuple[bytes, ...]]:
    """Root DSE attributes owned by the protocol layer, for `DirectorySettings.root_dse_extra`.

    `extended_oids` defaults to the standard handlers; pass the factory's table when it has more.
    supportedSASLMechanisms is left out: we offer no SASL mechanism (simple bind only).
    """
    oids = sorted(standard_handlers() if extended_oids is None else extended_oids)
    return {
        "supportedControl": tuple(oid.encode("ascii") for oid in SUPPORTED_CONTROLS),
        "supportedExtension": tuple(oid.encode("ascii") for oid in oids),
        "supportedFeatures": tuple(oid.encode("ascii") for oid in SUPPORTED_FEATURES),
        "vendorName": (b"ixidir",),
        "vendorVersion": (__version__.encode("ascii"),),
    }
