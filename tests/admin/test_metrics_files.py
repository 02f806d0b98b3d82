"""The per-worker counter files (admin/metrics_files.py): published whole, read whole or not."""

from __future__ import annotations

import os
import subprocess
import sys
from array import array
from pathlib import Path

from ixidir.admin.metrics_files import (
    PublishedCounters,
    clear_stale,
    read_counters,
    running_workers,
    worker_file,
)
from ixidir.server.metrics import LAYOUT_SIZE


def test_what_a_worker_publishes_is_what_the_reader_gets(tmp_path: Path) -> None:
    published = PublishedCounters(worker_file(tmp_path, 1234))
    assert read_counters(published.path) == [0] * LAYOUT_SIZE  # before the first copy
    values = list(range(LAYOUT_SIZE))
    values[1] = -1  # a gauge may dip below zero between samples: signed
    published.publish(values)
    assert read_counters(published.path) == values
    values[5] += 1
    published.publish(values)
    assert read_counters(published.path) == values
    assert oct(published.path.stat().st_mode & 0o777) == "0o600"
    published.remove()
    assert not published.path.exists()
    assert read_counters(published.path) is None


def test_a_copy_in_progress_or_another_layout_is_never_read(tmp_path: Path) -> None:
    published = PublishedCounters(worker_file(tmp_path, 1))
    path = published.path
    with path.open("r+b") as file:
        file.write(array("q", [1]).tobytes())  # generation odd: a writer is mid-copy
    assert read_counters(path) is None
    with path.open("r+b") as file:
        file.write(array("q", [2, LAYOUT_SIZE + 1]).tobytes())  # a newer ixidir's layout
    assert read_counters(path) is None
    published.remove()


def test_running_workers_counts_live_processes_and_clear_stale_removes_the_others(
    tmp_path: Path,
) -> None:
    mine = PublishedCounters(worker_file(tmp_path, os.getpid()))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    PublishedCounters(worker_file(tmp_path, int(gone.stdout)))  # left by a killed server
    assert running_workers(tmp_path) == 1
    clear_stale(tmp_path)
    assert list(mine.path.parent.iterdir()) == [mine.path]  # a running server's stays
    assert running_workers(tmp_path) == 1
