"""Listening addresses: parsing, formatting, and binding real loopback ports (port 0)."""

from __future__ import annotations

import socket

import pytest
from twisted.internet.protocol import Factory
from twisted.internet.selectreactor import SelectReactor

from ixidir.server.listen import bound_addresses, format_address, listen, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0:391", ("0.0.0.0", 391)),  # noqa: S104 (only parsed)
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:389", ("::1", 389)),
        ("localhost:1389", ("localhost", 1389)),
    ],
)
def test_addresses_parse_and_format_back(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected
    assert format_address(*expected) == text


@pytest.mark.parametrize("text", ["391", ":391", "host:", "host:port", "::1:389", "h:70000"])
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT|brackets|range"):
        parse_address(text)


def test_port_zero_binds_a_real_free_port_and_reports_it() -> None:
    reactor = SelectReactor()
    ports = listen(reactor, Factory(), ["127.0.0.1:0", "127.0.0.1:0"])
    try:
        addresses = bound_addresses(ports)
        assert [host for host, _ in addresses] == ["127.0.0.1", "127.0.0.1"]
        assert all(port > 0 for _, port in addresses)
        assert addresses[0][1] != addresses[1][1]
        with socket.create_connection(addresses[0], timeout=5):
            pass
    finally:
        for port in ports:
            port.stopListening()


def test_a_failing_address_closes_the_ports_already_opened() -> None:
    reactor = SelectReactor()
    taken = listen(reactor, Factory(), ["127.0.0.1:0"])
    try:
        busy = format_address(*bound_addresses(taken)[0])
        with pytest.raises(Exception, match=r"Address already in use|Couldn't listen"):
            listen(reactor, Factory(), ["127.0.0.1:0", busy])
        readers = reactor.getReaders()  # type: ignore[no-untyped-call]
        assert [r for r in readers if hasattr(r, "getHost")] == taken  # only `taken` listens
    finally:
        taken[0].stopListening()
