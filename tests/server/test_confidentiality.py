"""simple_bind_tls: which peers need TLS for a password bind (slapd's `security simple_bind`)."""

from __future__ import annotations

import pytest

from ixidir.server.confidentiality import SimpleBindTLS, needs_tls


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "::1%lo"])
def test_loopback_addresses(host: str) -> None:
    assert not needs_tls(SimpleBindTLS.OFF_HOST, host)


@pytest.mark.parametrize(
    "host", ["192.0.2.10", "10.0.0.1", "::ffff:192.0.2.10", "2001:db8::1", "localhost", "", None]
)
def test_other_addresses_and_unreadable_peers_are_off_host(host: str | None) -> None:
    assert needs_tls(SimpleBindTLS.OFF_HOST, host)


def test_off_host_needs_tls_only_for_other_machines() -> None:
    assert needs_tls(SimpleBindTLS.OFF_HOST, "192.0.2.10")
    assert not needs_tls(SimpleBindTLS.OFF_HOST, "127.0.0.1")
    assert needs_tls(SimpleBindTLS.OFF_HOST, None)


def test_always_and_never_ignore_the_address() -> None:
    assert needs_tls(SimpleBindTLS.ALWAYS, "127.0.0.1")
    assert not needs_tls(SimpleBindTLS.NEVER, "192.0.2.10")
