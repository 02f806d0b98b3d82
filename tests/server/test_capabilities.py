"""The root DSE values the protocol layer advertises."""

from __future__ import annotations

from ixidir import __version__
from ixidir.server.capabilities import root_dse_extra


def test_root_dse_lists_supported_controls_extensions_and_features() -> None:
    extra = root_dse_extra()
    assert set(extra["supportedControl"]) == {b"1.2.840.113556.1.4.319", b"2.16.840.1.113730.3.4.2"}
    assert set(extra["supportedExtension"]) == {
        b"1.3.6.1.4.1.4203.1.11.3",
        b"1.3.6.1.4.1.4203.1.11.1",
        b"1.3.6.1.4.1.1466.20037",
    }
    assert b"1.3.6.1.4.1.4203.1.5.1" in extra["supportedFeatures"]
    assert extra["vendorName"] == (b"ixidir",)
    assert extra["vendorVersion"] == (__version__.encode(),)
    assert "supportedSASLMechanisms" not in extra


def test_extra_extended_operations_are_advertised_when_passed() -> None:
    extra = root_dse_extra(["2.25.1.3.1", "1.3.6.1.4.1.4203.1.11.3"])
    assert extra["supportedExtension"] == (b"1.3.6.1.4.1.4203.1.11.3", b"2.25.1.3.1")
