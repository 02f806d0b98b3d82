"""Bootstrap of the embedded Firebird runtime shipped by the `firebird-embedded` wheel."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

from firebird.driver import driver_config
from firebird.driver import fbapi as _fbapi
from firebird.embedded.provider import FirebirdProvider

from ixidir.directory.ports import StorageUnavailable

# The wheel's own firebird.conf says `ServerMode = Super`, which locks a database file to one
# process. SuperClassic lets the server workers and the CLI share one file (DESIGN.md "Store").
FIREBIRD_CONF = "ServerMode = SuperClassic\n"
_OWN_FILES = frozenset({"firebird.conf", "firebird.log"})
CLIENT_LIBRARY = "libfbclient.so.2"
TOMMATH = "libtommath.so.1"
TOMCRYPT = "libtomcrypt.so.1"


@dataclass(slots=True)
class _ProcessRuntime:
    """The runtime root this process loaded: the driver binds its client library once only."""

    root: Path | None = None


# Process-wide by necessity: firebird-driver keeps one client library per process.
_runtime = _ProcessRuntime()


def prepare_embedded_runtime(root: Path) -> Path:
    """Make `root` a private Firebird root and load its client library into this process.

    Idempotent for the same root. A second, different root in the same process raises
    StorageUnavailable, because the driver cannot switch client libraries once loaded.
    Returns the resolved root.
    """
    root = root.resolve()
    if _runtime.root is not None:
        if _runtime.root != root:
            raise StorageUnavailable(
                f"the Firebird runtime of this process is already {_runtime.root}; "
                f"cannot switch to {root} (one client library per process)"
            )
        return root
    if _fbapi.has_api():
        raise StorageUnavailable(
            "the Firebird client library was loaded before ixidir prepared its runtime; "
            "call prepare_embedded_runtime() before any other firebird-driver use"
        )
    _populate_root(root, FirebirdProvider().root)
    os.environ["FIREBIRD"] = str(root)
    os.environ["FIREBIRD_LOCK"] = str(root / "lock")
    _preload_crypto_libraries(FirebirdProvider().root)
    driver_config.fb_client_library.value = str(root / CLIENT_LIBRARY)
    _runtime.root = root
    return root


def runtime_root() -> Path | None:
    """The runtime root prepared in this process, if any."""
    return _runtime.root


def _populate_root(root: Path, wheel_root: Path) -> None:
    """Link the wheel's runtime files into `root`, with our own firebird.conf beside them."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / "lock").mkdir(exist_ok=True)
        for item in wheel_root.iterdir():
            if item.name in _OWN_FILES:
                continue
            _link(root / item.name, item)
        conf = root / "firebird.conf"
        if not conf.is_file() or conf.read_text() != FIREBIRD_CONF:
            conf.write_text(FIREBIRD_CONF)
    except OSError as exc:
        raise StorageUnavailable(f"cannot prepare the Firebird runtime in {root}: {exc}") from exc


def _link(link: Path, target: Path) -> None:
    """Point `link` at `target`, repairing a link left by an older wheel location."""
    if link.is_symlink():
        if link.readlink() == target:
            return
        link.unlink()
    elif link.exists():
        return  # a real file or folder put there on purpose: leave it alone
    link.symlink_to(target)


def _preload_crypto_libraries(wheel_root: Path) -> None:
    """Load libtommath and the wheel's libtomcrypt globally, as libfbclient needs their symbols."""
    try:
        ctypes.CDLL(TOMMATH, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        raise StorageUnavailable(
            f"embedded Firebird needs {TOMMATH}: install it with `apt-get install libtommath1`"
        ) from exc
    try:
        ctypes.CDLL(str(wheel_root / TOMCRYPT), mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        raise StorageUnavailable(f"cannot load {wheel_root / TOMCRYPT}: {exc}") from exc
