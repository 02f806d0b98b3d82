"""The server's threads: a small pool for password and PIN hashes, and one writer thread per
Firebird connection that writes (entries, daily counters), each with group commit.

Started before the reactor serves; on shutdown the writers are flushed (everything queued is
committed and answered), then the threads stop. A CLI process (import, user add) builds none
of this and keeps writing synchronously.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from ixidir.directory.directory import Directory
from ixidir.directory.lockout import GuardOp
from ixidir.limits.ports import CounterBatch, CounterOp
from ixidir.server.metrics import WorkerMetrics
from ixidir.server.offload import GuardStore, ThreadOffload, counted
from ixidir.server.priority import lower_this_thread
from ixidir.server.writes import BatchEntryStore, GroupCommit, Runner, WriteQueue

# PBKDF2 releases the GIL: one hash per core runs in parallel, more would only queue in the CPU.
HASH_THREADS = os.cpu_count() or 2
ENTRIES, COUNTERS = range(2)  # metrics.COMMIT_STORES

CounterJob = tuple[CounterOp, Callable[[object, Exception | None], None]]
GuardJob = tuple[GuardOp, Callable[[object, Exception | None], None]]


class ServerThreads:
    """Owns the pools; `offload` goes to the LDAP server factory."""

    def __init__(
        self,
        reactor: Any,
        *,
        directory: Directory,
        entry_store: BatchEntryStore,
        counters: CounterBatch | None = None,
        guard: GuardStore | None = None,
        hash_threads: int = HASH_THREADS,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        """`metrics`: where the writer threads' commit latencies go. `guard` counts failed
        binds on the counters' thread (its own connection): a few rows a bind, batched like the
        daily counts."""
        metrics = metrics if metrics is not None else WorkerMetrics()
        self._pools = [
            ThreadPool(minthreads=1, maxthreads=hash_threads, name="ixidir-hash"),
            ThreadPool(minthreads=1, maxthreads=1, name="ixidir-entry-writer"),
            ThreadPool(minthreads=1, maxthreads=1, name="ixidir-counter-writer"),
        ]
        hashing, entry_writer, counter_writer = (self._runner(reactor, p) for p in self._pools)
        # The writers' commits can wait for routing; a bind waits for its hash (server.priority).
        entry_writer, counter_writer = lowered_runner(entry_writer), lowered_runner(counter_writer)
        self.writes = WriteQueue(
            directory,
            entry_store,
            entry_writer,
            clock=reactor,
            timed=partial(metrics.timed_commit, ENTRIES),
        )
        self.counts: GroupCommit[CounterJob, Any] | None = None
        if counters is not None:
            batch = counters
            self.counts = GroupCommit(
                run=counter_writer,
                commit=metrics.timed_commit(
                    COUNTERS, lambda jobs: list(batch.run_batch([op for op, _ in jobs]))
                ),
                finish=counted,
                clock=reactor,
            )
        self.guards: GroupCommit[GuardJob, Any] | None = None
        if guard is not None:
            store = guard
            self.guards = GroupCommit(
                run=counter_writer,
                commit=lambda jobs: store.run_batch([op for op, _ in jobs]),
                finish=counted,
            )
        self.offload = ThreadOffload(
            compute=hashing,
            writes=self.writes,
            clock=reactor,
            counters=self.counts,
            guard=self.guards,
        )

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
        for batches in (self.counts, self.guards):
            if batches is not None:
                await batches.flushed()
        for pool in self._pools:
            pool.stop()


def lowered_runner(run: Runner) -> Runner:
    """`run`, with each job lowering its thread first (once per thread: server.priority)."""

    def lowered(job: Callable[[], Any]) -> Deferred[Any]:
        def in_thread() -> Any:
            lower_this_thread()
            return job()

        return run(in_thread)

    return lowered
