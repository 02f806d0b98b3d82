"""TLS for LDAPS and StartTLS: the server's certificate, reread on demand, at TLS 1.2 or later.

`ServerTLS` is what the listeners and StartTLS are given. Twisted asks it for an OpenSSL
connection per new connection (`serverConnectionForTLS`), so after `reload` (on SIGHUP) new
connections get the new certificate while open ones keep theirs, without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.internet.protocol import Factory
from twisted.internet.ssl import CertificateOptions, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import classImplements  # type: ignore[import-untyped]

# RFC 8996 retires TLS 1.0 and 1.1 (OpenSSL 3 refuses them at its default security level).
MINIMUM_TLS = TLSVersion.TLSv1_2
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


class TLSConfigurationError(ValueError):
    """The certificate or key files cannot be used; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class LoadedCertificate:
    """What a reload read: the server's certificate (first in its file) and its chain."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


class ServerTLS:
    """The current TLS settings; `reload` rereads the files and is used from then on."""

    def __init__(self, certificate_file: Path, key_file: Path) -> None:
        """Reads the files at once: a server that cannot use them does not start."""
        self.certificate_file = certificate_file
        self.key_file = key_file
        self._options, self.loaded = load_options(certificate_file, key_file)

    def reload(
        self, certificate_file: Path | None = None, key_file: Path | None = None
    ) -> LoadedCertificate:
        """Reread both files (or read others); on any error the previous certificate, and
        the previous file names, stay in use."""
        certificate_file = certificate_file or self.certificate_file
        key_file = key_file or self.key_file
        self._options, self.loaded = load_options(certificate_file, key_file)
        self.certificate_file, self.key_file = certificate_file, key_file
        return self.loaded

    def serverConnectionForTLS(self, protocol: object) -> SSL.Connection:  # noqa: N802
        connection: SSL.Connection = self._options.serverConnectionForTLS(protocol)
        return connection


# What TLSMemoryBIOFactory checks for (zope.interface, without type information for mypy).
classImplements(ServerTLS, IOpenSSLServerConnectionCreator)


def load_options(certificate_file: Path, key_file: Path) -> tuple[Any, LoadedCertificate]:
    """Twisted's CertificateOptions (good ciphers, no compression, TLS 1.2 at least) for the
    PEM certificate, followed by its chain in the same file, and its key."""
    certificates = read_certificates(certificate_file)
    key_pem = _read(key_file)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise TLSConfigurationError(f"{key_file}: not an unencrypted PEM private key") from error
    if not keys_match(certificates[0], key):
        raise TLSConfigurationError(
            f"{key_file}: this key does not belong to the certificate in {certificate_file}"
        )
    options = CertificateOptions(
        privateKey=crypto.PKey.from_cryptography_key(key),  # type: ignore[arg-type]
        certificate=crypto.X509.from_cryptography(certificates[0]),
        extraCertChain=[crypto.X509.from_cryptography(extra) for extra in certificates[1:]],
        raiseMinimumTo=MINIMUM_TLS,
    )
    return options, LoadedCertificate(certificates[0], tuple(certificates[1:]))


def read_certificates(path: Path) -> list[x509.Certificate]:
    """The PEM certificates in `path`, in file order; at least one."""
    data = _read(path)
    if PEM_CERTIFICATE not in data:
        raise TLSConfigurationError(f"{path}: no PEM certificate in the file")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise TLSConfigurationError(f"{path}: not a valid PEM certificate ({error})") from None


def keys_match(certificate: x509.Certificate, key: object) -> bool:
    """The private key's public half is the certificate's public key."""
    public = getattr(key, "public_key", None)
    if public is None:
        return False
    encoding, form = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ours: bytes = public().public_bytes(encoding, form)
    return ours == certificate.public_key().public_bytes(encoding, form)


def ldaps_factory(tls: ServerTLS, factory: Factory) -> Factory:
    """`factory` behind TLS from the first byte (LDAPS), as `listenSSL` would wrap it; a plain
    TCP port (or one adopted with SO_REUSEPORT) serving this speaks LDAPS."""
    # TLSMemoryBIOFactory is a WrappingFactory, a Factory; its generic parameters differ.
    return cast(Factory, TLSMemoryBIOFactory(cast(Any, tls), False, cast(Any, factory)))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise TLSConfigurationError(f"{path}: {reason}") from None
