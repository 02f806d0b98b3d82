"""What `ixidir serve` does for TLS: load the certificate, say what is (not) protected, warn
before the certificate expires, and take a new one on SIGHUP without a restart."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ixidir.admin.certificates import WARN_DAYS
from ixidir.admin.errors import AdminError
from ixidir.admin.runtime import utc_now
from ixidir.config import Config, ConfigError, load_config, resolve_path
from ixidir.server.confidentiality import SimpleBindTLS
from ixidir.server.protocol import LDAPServerFactory
from ixidir.server.tls import LoadedCertificate, ServerTLS, TLSConfigurationError

EXPIRY_CHECK_SECONDS = 24 * 60 * 60


def load_tls(data_dir: Path, config: Config, log: Logger) -> ServerTLS | None:
    """The configured certificate, or None (StartTLS then answers unavailable); a certificate
    that cannot be used stops the start with a one-line error."""
    if config.tls_certificate is None or config.tls_key is None:
        log.info("no TLS certificate configured: StartTLS and LDAPS are off (ixidir cert create)")
        return None
    try:
        tls = ServerTLS(
            resolve_path(data_dir, config.tls_certificate), resolve_path(data_dir, config.tls_key)
        )
    except TLSConfigurationError as error:
        raise AdminError(f"{error}; fix it, or make a new one with 'ixidir cert create'") from None
    warn_if_expiring(tls.loaded, log)
    return tls


def bind_policy(config: Config, log: Logger) -> SimpleBindTLS:
    """`simple_bind_tls`; a data directory from before TLS (no key) keeps `never`, said at
    every start so the administrator learns that passwords may cross the network in clear."""
    if config.simple_bind_tls is None:
        log.warn(
            "simple_bind_tls is not set in ixidir.toml (a data directory from before TLS): "
            'password binds are accepted without TLS; set simple_bind_tls = "off-host" once '
            "the clients use StartTLS or LDAPS"
        )
        return SimpleBindTLS.NEVER
    return SimpleBindTLS(config.simple_bind_tls)


def check_ldaps(addresses: Sequence[str], tls: ServerTLS | None) -> None:
    if addresses and tls is None:
        raise AdminError(
            "LDAPS needs a certificate: set tls_certificate and tls_key in ixidir.toml, "
            "or make one with 'ixidir cert create'"
        )


def warn_if_expiring(loaded: LoadedCertificate, log: Logger) -> None:
    days = loaded.days_left(utc_now())
    if days < 0:
        log.error("the TLS certificate expired on {date}; clients refuse it", date=_day(loaded))
    elif days < WARN_DAYS:
        log.warn(
            "the TLS certificate expires on {date} ({days} days left); renew it and send SIGHUP",
            date=_day(loaded),
            days=int(days),
        )


def watch_certificate(
    reactor: Any,
    factory: LDAPServerFactory,
    *,
    data_dir: Path,
    log: Logger,
    children: Sequence[subprocess.Popen[bytes]] = (),
) -> None:
    """On SIGHUP reread ixidir.toml's certificate for new connections (the workers are told
    too); once a day warn when it expires within WARN_DAYS days."""

    def reload() -> None:
        for child in children:
            child.send_signal(signal.SIGHUP)
        try:
            reload_certificate(factory, data_dir)
        except (TLSConfigurationError, ConfigError) as error:
            log.error("SIGHUP: keeping the current certificate: {reason}", reason=error)
            return
        tls = factory.tls
        if isinstance(tls, ServerTLS):
            certificate = tls.loaded.certificate
            log.info(
                "SIGHUP: new connections use the certificate {subject}, valid until {date}",
                subject=certificate.subject.rfc4514_string(),
                date=_day(tls.loaded),
            )
            warn_if_expiring(tls.loaded, log)

    # Python runs the handler on the reactor's thread between bytecodes; callFromThread makes
    # the reload a reactor turn of its own.
    signal.signal(signal.SIGHUP, lambda *_: reactor.callFromThread(reload))
    check = LoopingCall(_check_expiry, factory, log)
    check.clock = reactor
    check.start(EXPIRY_CHECK_SECONDS, now=False)


def reload_certificate(factory: LDAPServerFactory, data_dir: Path) -> None:
    """Reread the files (their names may have changed in ixidir.toml). A server started
    without a certificate offers StartTLS from then on; LDAPS listeners need a restart."""
    config = load_config(data_dir)
    if config.tls_certificate is None or config.tls_key is None:
        return
    certificate = resolve_path(data_dir, config.tls_certificate)
    key = resolve_path(data_dir, config.tls_key)
    tls = factory.tls
    if isinstance(tls, ServerTLS):
        tls.reload(certificate, key)
    else:
        factory.tls = ServerTLS(certificate, key)


def _check_expiry(factory: LDAPServerFactory, log: Logger) -> None:
    if isinstance(factory.tls, ServerTLS):
        warn_if_expiring(factory.tls.loaded, log)


def _day(loaded: LoadedCertificate) -> str:
    return f"{loaded.not_after:%Y-%m-%d}"
