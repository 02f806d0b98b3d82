"""The embedded runtime bootstrap: a private SuperClassic root, one per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from ixidir.directory.ports import StorageUnavailable
from ixidir.storage.embedded import FIREBIRD_CONF, prepare_embedded_runtime


def test_root_holds_our_conf_and_links_to_the_wheel_runtime(runtime_root: Path) -> None:
    assert (runtime_root / "firebird.conf").read_text() == FIREBIRD_CONF
    client = runtime_root / "libfbclient.so.2"
    assert client.is_symlink()
    assert client.resolve().is_file()
    assert (runtime_root / "plugins").is_symlink()


def test_preparing_the_same_root_again_is_harmless(runtime_root: Path) -> None:
    assert prepare_embedded_runtime(runtime_root) == runtime_root


def test_a_second_root_in_one_process_is_refused(runtime_root: Path, tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailable, match="one client library per process"):
        prepare_embedded_runtime(tmp_path / "other-root")
