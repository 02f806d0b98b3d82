"""admin.threads: the writers' jobs run on lowered threads (server.priority); others do not."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed

from ixidir.admin.threads import lowered_runner
from ixidir.server.priority import is_lowered

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's"
)


def new_thread(job: Callable[[], Any]) -> Deferred[Any]:
    """A Runner that runs each job on a thread of its own and waits for it."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(job()))
    thread.start()
    thread.join()
    return succeed(results[0])


def outcome(deferred: Deferred[Any]) -> Any:
    found: list[Any] = []
    deferred.addCallback(found.append)
    return found[0]


def test_a_lowered_runner_lowers_the_thread_before_the_job() -> None:
    assert outcome(lowered_runner(new_thread)(is_lowered)) is True


def test_the_plain_runner_leaves_the_thread_alone() -> None:
    assert outcome(new_thread(is_lowered)) is False
    assert not is_lowered()
