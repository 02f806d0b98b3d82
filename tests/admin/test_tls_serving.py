"""What `ixidir serve` does with the certificate: reload on SIGHUP, expiry warnings, the
simple_bind_tls default of a data directory from before TLS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from server import wire
from server.fake_directory import FakeDirectory
from server.test_protocol import START_TLS, TLSRecordingTransport
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, Logger

from ixidir.admin.certificates import CERTIFICATE_FILE, KEY_FILE, create_certificate
from ixidir.admin.runtime import utc_now
from ixidir.admin.tls_serving import bind_policy, load_tls, reload_certificate, warn_if_expiring
from ixidir.config import Config, load_config, write_config
from ixidir.server.confidentiality import SimpleBindTLS
from ixidir.server.protocol import LDAPServerFactory
from ixidir.server.tls import ServerTLS, TLSConfigurationError


class Events:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.log = Logger(observer=cast(ILogObserver, self.events.append))

    def levels(self) -> list[str]:
        return [event["log_level"].name for event in self.events]

    def text(self) -> str:
        return " ".join(event["log_format"] for event in self.events)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_config(tmp_path, Config(base_dn="dc=example,dc=com"))
    return tmp_path


def test_reload_takes_the_new_files_and_keeps_the_old_on_error(data_dir: Path) -> None:
    create_certificate(data_dir, ["first.example"], days=90, now=utc_now())
    tls = ServerTLS(data_dir / CERTIFICATE_FILE, data_dir / KEY_FILE)
    create_certificate(data_dir, ["second.example"], days=90, now=utc_now())
    assert tls.loaded.certificate.subject.rfc4514_string() == "CN=first.example"
    tls.reload()
    assert tls.loaded.certificate.subject.rfc4514_string() == "CN=second.example"
    (data_dir / KEY_FILE).write_text("half-written")
    with pytest.raises(TLSConfigurationError, match="key"):
        tls.reload()
    assert tls.loaded.certificate.subject.rfc4514_string() == "CN=second.example"


def test_a_server_started_without_a_certificate_offers_start_tls_after_sighup(
    data_dir: Path,
) -> None:
    events = Events()
    started = load_tls(data_dir, load_config(data_dir), events.log)
    assert started is None
    factory = LDAPServerFactory(FakeDirectory(), reactor=Clock(), tls=started)
    assert "StartTLS and LDAPS are off" in events.text()
    create_certificate(data_dir, [], days=90, now=utc_now())
    reload_certificate(factory, data_dir)
    assert isinstance(factory.tls, ServerTLS)
    protocol = factory.buildProtocol(None)
    transport = TLSRecordingTransport()
    protocol.makeConnection(transport)  # type: ignore[no-untyped-call]
    protocol.dataReceived(wire.extended(1, START_TLS))
    assert transport.tls_started_after is not None  # a new connection may StartTLS


@pytest.mark.parametrize(
    ("days", "level", "words"),
    [(90, None, ""), (10, "warn", "expires on"), (-1, "error", "expired on")],
)
def test_the_log_warns_from_30_days_before_expiry(
    data_dir: Path, days: int, level: str | None, words: str
) -> None:
    now = utc_now()
    create_certificate(data_dir, ["ldap.example"], days=90, now=now - timedelta(days=90 - days))
    events = Events()
    warn_if_expiring(ServerTLS(data_dir / CERTIFICATE_FILE, data_dir / KEY_FILE).loaded, events.log)
    assert events.levels() == ([] if level is None else [level])
    assert words in events.text()


def test_a_config_without_simple_bind_tls_behaves_as_never_and_says_so() -> None:
    events = Events()
    assert bind_policy(Config(base_dn="o=ixi"), events.log) is SimpleBindTLS.NEVER
    assert events.levels() == ["warn"]
    assert "simple_bind_tls is not set" in events.text()
    quiet = Events()
    policy = bind_policy(Config(base_dn="o=ixi", simple_bind_tls="off-host"), quiet.log)
    assert (policy, quiet.events) == (SimpleBindTLS.OFF_HOST, [])
