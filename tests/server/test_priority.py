"""server.priority: a background thread lowers itself to SCHED_IDLE, once, and only itself."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from ixidir.server.priority import is_lowered, lower_this_thread

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's"
)


def in_thread(work: object) -> list[object]:
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(work()))  # type: ignore[operator]
    thread.start()
    thread.join()
    return results


def test_a_thread_lowers_itself_and_nobody_else() -> None:
    seen = in_thread(lambda: (lower_this_thread(), is_lowered(), lower_this_thread()))
    assert seen == [(True, True, True)]
    assert not is_lowered()  # the thread that started it keeps its policy
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_a_thread_that_did_not_ask_is_not_lowered() -> None:
    assert in_thread(is_lowered) == [False]
