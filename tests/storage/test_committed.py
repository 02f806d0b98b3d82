"""The node's committed sequence: shared by processes, never lowered by a raise, read whole."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ixidir.storage.committed import COMMITTED_FILE, CommittedSequence

RAISERS = 4
RAISES = 400

_RAISER = """
import random, sys
from pathlib import Path
from ixidir.storage.committed import CommittedSequence
values = list(range(1, int(sys.argv[2]) + 1))
random.Random(int(sys.argv[3])).shuffle(values)
committed = CommittedSequence.open(Path(sys.argv[1]))
for value in values:
    committed.raise_to(value)
committed.close()
"""


@pytest.fixture
def committed(tmp_path: Path) -> CommittedSequence:
    return CommittedSequence.open(tmp_path)


def test_a_new_file_reads_zero_and_only_its_owner_may_read_it(
    tmp_path: Path, committed: CommittedSequence
) -> None:
    path = tmp_path / COMMITTED_FILE
    assert committed.read() == 0
    assert path.stat().st_size == 8
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_raising_never_lowers_the_value(committed: CommittedSequence) -> None:
    committed.raise_to(7)
    committed.raise_to(3)
    assert committed.read() == 7


def test_a_raise_is_seen_at_once_by_another_opening_of_the_file(
    tmp_path: Path, committed: CommittedSequence
) -> None:
    other = CommittedSequence.open(tmp_path)
    other.raise_to(2**40 + 5)  # both halves of the 8 bytes change
    assert committed.read() == 2**40 + 5
    other.close()
    assert CommittedSequence.open(tmp_path).read() == 2**40 + 5


def test_concurrent_raisers_in_several_processes_leave_the_maximum_and_never_go_back(
    tmp_path: Path, committed: CommittedSequence
) -> None:
    raisers = [
        subprocess.Popen([sys.executable, "-c", _RAISER, str(tmp_path), str(RAISES + n), str(n)])
        for n in range(RAISERS)
    ]
    seen = [committed.read()]
    while any(raiser.poll() is None for raiser in raisers):
        seen.append(committed.read())
    assert [raiser.returncode for raiser in raisers] == [0] * RAISERS
    assert seen == sorted(seen)
    assert committed.read() == RAISES + RAISERS - 1


class _TornView:
    """Loads as a concurrent store would show them: first half-written, then whole."""

    def __init__(self, loads: list[int]) -> None:
        self._loads = loads

    def __getitem__(self, index: int) -> int:
        return self._loads.pop(0)


def test_a_read_during_a_store_returns_only_a_value_two_loads_agree_on(
    committed: CommittedSequence, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = 2**32
    torn = 2**32 - 1 + 2**32  # the new high half with the old low half
    monkeypatch.setattr(committed, "_view", _TornView([torn, whole, whole]))
    assert committed.read() == whole


def test_settle_lowers_a_value_the_database_is_behind_and_keeps_one_it_covers(
    committed: CommittedSequence,
) -> None:
    committed.raise_to(50)
    assert not committed.settle(lambda: 60)
    assert committed.read() == 50
    assert committed.settle(lambda: 12)  # a restored database: its changelog ends earlier
    assert committed.read() == 12
