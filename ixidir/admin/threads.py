"""The server's threads: a small pool for password and PIN hashes, and one writer thread per
Firebird connection that writes (entries, daily counters), each with group commit.

Started before the reactor serves; on shutdown the writers are flushed (everything queued is
committed and answered), then the threads stop. A CLI process (import, user add) builds none
of this and keeps writing synchronously.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from ixidir.directory.directory import Directory
from ixidir.limits.ports import CounterBatch, CounterOp
from ixidir.server.offload import ThreadOffload, counted
from ixidir.server.writes import BatchEntryStore, GroupCommit, Runner, WriteQueue

# PBKDF2 releases the GIL: one hash per core runs in parallel, more would only queue in the CPU.
HASH_THREADS = os.cpu_count() or 2
# Niceness of the hash threads (Linux sets it per thread): a storm of wrong passwords then gets
# less of the CPU the event loop needs. On 2 shared cores one client binding wrong non-stop took
# routing p99 to 3.7x the quiet p99 at equal priority, 2.6x at 19 (single runs, noisy machine);
# 10 is the middle way, so that binds do not starve while the machine is busy otherwise.
HASH_NICENESS = 10

CounterJob = tuple[CounterOp, Callable[[object, Exception | None], None]]


class ServerThreads:
    """Owns the pools; `offload` goes to the LDAP server factory."""

    def __init__(
        self,
        reactor: Any,
        *,
        directory: Directory,
        entry_store: BatchEntryStore,
        counters: CounterBatch | None = None,
        hash_threads: int = HASH_THREADS,
    ) -> None:
        self._pools = [
            ThreadPool(minthreads=1, maxthreads=hash_threads, name="ixidir-hash"),
            ThreadPool(minthreads=1, maxthreads=1, name="ixidir-entry-writer"),
            ThreadPool(minthreads=1, maxthreads=1, name="ixidir-counter-writer"),
        ]
        hashing, entry_writer, counter_writer = (self._runner(reactor, p) for p in self._pools)
        hashing = _yielding(hashing)
        self.writes = WriteQueue(directory, entry_store, entry_writer)
        self.counts: GroupCommit[CounterJob, Any] | None = None
        if counters is not None:
            batch = counters
            self.counts = GroupCommit(
                run=counter_writer,
                commit=lambda jobs: list(batch.run_batch([op for op, _ in jobs])),
                finish=counted,
            )
        self.offload = ThreadOffload(compute=hashing, writes=self.writes, counters=self.counts)

    @staticmethod
    def _runner(reactor: Any, pool: ThreadPool) -> Runner:
        return partial(deferToThreadPool, reactor, pool)

    def start(self) -> None:
        for pool in self._pools:
            pool.start()

    def stop(self) -> Deferred[None]:
        """Flush the writers, then stop every thread (a 'before shutdown' trigger)."""
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await self.writes.flushed()
        if self.counts is not None:
            await self.counts.flushed()
        for pool in self._pools:
            pool.stop()


def _yielding(run: Runner) -> Runner:
    """`run`, each of whose threads first lowers its own priority (once per thread)."""
    lowered = threading.local()

    def niced(call: Callable[[], Any]) -> Any:
        if not getattr(lowered, "done", False):
            lowered.done = True
            with suppress(OSError):  # not permitted, or not Linux: run at normal priority
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)
        return call()

    return lambda call: run(partial(niced, call))
