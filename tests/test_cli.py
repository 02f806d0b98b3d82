"""The `ixidir` command's last word: failures are one line on standard error, never a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ixidir import cli
from ixidir.directory.ports import StorageUnavailable


def fail_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def dispatch(args: argparse.Namespace, data_dir: Path) -> int:
        raise error

    monkeypatch.setattr(cli, "_dispatch", dispatch)


def test_an_unexpected_error_is_one_line_asking_for_a_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.SHOW_TRACEBACK, raising=False)
    fail_with(monkeypatch, RuntimeError("boom\nsecond line"))
    assert cli.main(["export"]) == 70
    err = capsys.readouterr().err
    assert err == (
        "ixidir: unexpected RuntimeError: boom second line; this is a bug in ixidir, please "
        "report it (run again with IXIDIR_TRACEBACK=1 for the traceback)\n"
    )
    monkeypatch.setenv(cli.SHOW_TRACEBACK, "1")
    with pytest.raises(RuntimeError):
        cli.main(["export"])


def test_storage_and_file_errors_say_what_to_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_with(
        monkeypatch, StorageUnavailable("cannot open the database x.fdb:\n-Permission denied")
    )
    assert cli.main(["export"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ixidir: cannot open the database x.fdb: -Permission denied; the user")
    fail_with(monkeypatch, PermissionError(13, "Permission denied", "users.ldif"))
    assert cli.main(["export"]) == 2
    assert capsys.readouterr().err.startswith("ixidir: users.ldif: permission denied; check")
