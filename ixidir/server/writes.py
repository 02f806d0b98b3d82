"""Group commit: one writer thread per connection to Firebird, and the directory's write queue.

`GroupCommit` runs batches on its own thread: the jobs that queue while a batch commits go
into the next batch together, so one durable commit (an fsync: 1-5 ms) serves them all
(STYLE.md §8 "batch what the disk makes expensive"). `WriteQueue` feeds it the directory's
writes: each is checked (prepared) on the event loop against memory, in arrival order; a write
whose conflict marks meet those of a write not yet applied waits, and is prepared again once
that one is in memory, so no write is ever checked against memory that is about to change
under it. Writes to different entries share a batch; the database's unique keys catch what
another process did meanwhile, and a write it refuses fails alone (`commit_batch`). Memory
changes on the loop after the commit, then the writes are acknowledged: nothing is answered
before it is durable, and a client's next request sees its write. With other workers on the
node, the answer also waits (briefly, bounded) until they applied the write, so their requests
never wait for it (`siblings_caught_up`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from twisted.internet.defer import Deferred

from ixidir.directory.ports import BatchRefused, EntryWrite, StorageError
from ixidir.directory.state import PreparedWrite
from ixidir.errors import LDAPError
from ixidir.server.interfaces import Clock, DelayedCall

J = TypeVar("J")
R = TypeVar("R")
Done = Callable[[object, Exception | None], None]
# Runs a blocking call on the writer's thread: deferToThreadPool with a one-thread pool, or
# a fake in tests that decides when the "commit" returns.
Runner = Callable[[Callable[[], Any]], "Deferred[Any]"]
# A writer thread's commit of one batch (what `WriteQueue(timed=...)` wraps).
Commit = Callable[[list[Any]], list[Any]]


# Linger (below): a fraction of the last commit's time, at most this long. Measured on this
# VM's disk, a Firebird commit with forced writes costs 30-60 ms whatever its size (a dozen
# ordered page writes), and 8 pipelined clients' adds went in batches of 1, 127, 1, 127...: the
# first write to arrive while the writer idled committed alone and held the others back.
LINGER_FRACTION = 0.1
MAX_LINGER_SECONDS = 0.002

# A batch's answers wait until the node's other workers applied it (`siblings_caught_up`), at
# most this long, looking every SIBLING_LOOK_SECONDS. Why: a worker holds every request while
# the node acknowledged a write it has not applied (server.freshness), and its follower applies
# another worker's write 1-2 ms after the commit. Measured with 2 workers, the routing and the
# modifying connection on different ones (20 modifies/s, routing 1 x 1): the routing worker
# held look-ups ~1.1 ms for its follower's read after each acknowledgement, routing p99.9
# 1.5-1.7 ms against 0.8-0.9 with both on one worker. A modify takes ~15 ms (the commit's
# fsync); its answer a millisecond or two later is what the look-ups no longer pay. Past the
# bound (a worker loading, stuck or gone) the write is answered anyway: the barrier keeps
# read-your-writes, and a worker that missed the bound is not waited for again until it caught
# up (admin.siblings).
SIBLING_WAIT_SECONDS = 0.02
SIBLING_LOOK_SECONDS = 0.0005


class GroupCommit(Generic[J, R]):
    """Batches of jobs on one thread; `finish` sees each batch's outcomes on the loop.

    With a `clock`, a job that finds the writer idle right after a batch of several waits
    a moment (`linger`) for the jobs its neighbours are about to send, as PostgreSQL's
    commit_delay does when other transactions are active; after a lone job's batch (a site
    with a write now and then) nothing waits.
    """

    def __init__(
        self,
        *,
        run: Runner,
        commit: Callable[[list[J]], list[R | Exception]],
        finish: Callable[[list[J], list[R | Exception]], None],
        clock: Clock | None = None,
    ) -> None:
        self._run = run
        self._commit = commit
        self._finish = finish
        self._clock = clock
        self._queue: list[J] = []
        self._is_busy = False
        self._lingering = False
        self._last_size = 0
        self._last_seconds = 0.0
        self._idle: list[Deferred[None]] = []
        self.batches = 0  # how many commits ran (tests and statistics)

    def submit(self, job: J) -> None:
        self._queue.append(job)
        if self._is_busy or self._lingering:
            return
        delay = self.linger()
        if delay <= 0 or self._clock is None:
            self._next()
            return
        self._lingering = True
        self._clock.callLater(delay, self._lingered)

    def linger(self) -> float:
        """How long a job that finds the writer idle waits for company, in seconds."""
        if self._clock is None or self._last_size <= 1:
            return 0.0
        return min(MAX_LINGER_SECONDS, LINGER_FRACTION * self._last_seconds)

    def flushed(self) -> Deferred[None]:
        """Fires once nothing is queued or committing (clean shutdown: flush, then stop)."""
        waiter: Deferred[None] = Deferred()
        if self._is_busy or self._queue:
            self._idle.append(waiter)
        else:
            waiter.callback(None)
        return waiter

    def _lingered(self) -> None:
        self._lingering = False
        if not self._is_busy:
            self._next()

    def _next(self) -> None:
        if not self._queue:
            idle, self._idle = self._idle, []
            for waiter in idle:
                waiter.callback(None)
            return
        jobs, self._queue = self._queue, []
        self._is_busy = True
        Deferred.fromCoroutine(self._batch(jobs))

    async def _batch(self, jobs: list[J]) -> None:
        self.batches += 1
        started = self._clock.seconds() if self._clock is not None else 0.0
        try:
            results: list[R | Exception] = await self._run(lambda: self._commit(jobs))
        except Exception as error:  # noqa: BLE001 (each job gets the failure, mapped later)
            results = [error] * len(jobs)
        if self._clock is not None:
            self._last_seconds = self._clock.seconds() - started
        self._last_size = len(jobs)
        # Still busy while answering: what the answers make clients send next is queued and
        # goes into the next batch together, instead of one batch each.
        self._finish(jobs, results)
        self._is_busy = False
        self._next()


class BatchEntryStore(Protocol):
    def commit(self, writes: Sequence[EntryWrite]) -> int: ...

    def commit_many(self, changes: Sequence[Sequence[EntryWrite]]) -> list[int]: ...


def commit_batch(
    store: BatchEntryStore, changes: Sequence[Sequence[EntryWrite]]
) -> list[int | Exception]:
    """Commit the changes in one transaction; each gets its sequence or its own failure.

    A change the database refuses (a unique key: the DN or a routing number, taken by another
    process) fails alone and the rest are committed again without it. Any other failure (a
    lock timeout, an update conflict on the changelog head) is no fault of one change: the
    changes are then committed one by one, each with the store's own handling.
    """
    results: list[int | Exception] = [StorageError("not committed")] * len(changes)
    remaining = list(range(len(changes)))
    while remaining:
        try:
            sequences = store.commit_many([changes[index] for index in remaining])
        except BatchRefused as refused:
            results[remaining.pop(refused.index)] = refused.error
            continue
        except StorageError:
            for index in remaining:
                try:
                    results[index] = store.commit(changes[index])
                except StorageError as error:
                    results[index] = error
            break
        for index, sequence in zip(remaining, sequences, strict=True):
            results[index] = sequence
        break
    return results


class Applier(Protocol):
    """What the write queue needs of the directory (the facade offers both)."""

    def apply_write(self, prepared: PreparedWrite, sequence: int) -> None: ...

    def refusal(self, error: StorageError) -> LDAPError: ...


@dataclass(eq=False, slots=True)
class _Release:
    """A batch applied to memory whose answers wait for the node's other workers."""

    newest: int  # the batch's newest sequence; 0 when none of its writes committed
    outcomes: list[tuple[Done, Exception | None]]
    deadline: float  # answered then even if the other workers have not applied it


@dataclass(eq=False, slots=True)
class _Queued:
    prepare: Callable[[], PreparedWrite]
    done: Done
    order: int  # arrival: a write is checked after every earlier one it might depend on
    prepared: PreparedWrite | None = None  # None: not checked yet (a barrier meanwhile)


class _Marks:
    """The conflict marks of the writes not yet applied (queued, committing or waiting), counted,
    so a new write is checked against all of them in time proportional to its own marks (a
    batch of 128 pipelined writes made pairwise checks cost ~16,000 set intersections)."""

    def __init__(self) -> None:
        self._changed: dict[str, int] = {}
        self._needed: dict[str, int] = {}
        self._barriers = 0
        self._writes = 0

    def add(self, prepared: PreparedWrite | None) -> None:
        self._count(prepared, 1)

    def remove(self, prepared: PreparedWrite | None) -> None:
        self._count(prepared, -1)

    def _count(self, prepared: PreparedWrite | None, step: int) -> None:
        self._writes += step
        if prepared is None or prepared.is_barrier:  # unchecked, or re-keying every number
            self._barriers += step
        if prepared is not None:
            _step(self._changed, prepared.changed, step)
            _step(self._needed, prepared.needed, step)

    def meet(self, prepared: PreparedWrite) -> bool:
        """Whether `prepared` may not be checked against the memory these writes will change."""
        if not self._writes:
            return False
        if self._barriers or prepared.is_barrier:
            return True
        changed, needed = self._changed, self._needed
        return any(m in changed or m in needed for m in prepared.changed) or any(
            m in changed for m in prepared.needed
        )


class WriteQueue:
    """The directory's writes, prepared in order on the loop and group-committed."""

    def __init__(
        self,
        directory: Applier,
        store: BatchEntryStore,
        run: Runner,
        *,
        clock: Clock | None = None,
        timed: Callable[[Commit], Commit] = lambda commit: commit,
    ) -> None:
        """`timed` wraps the writer thread's commit (the metrics time it)."""
        self._directory = directory
        # Called on the loop after each batch is applied to memory (the freshness barrier
        # resumes requests that waited for these writes).
        self.on_applied: Callable[[], None] = lambda: None
        # Called on the loop with a batch's newest sequence once it is applied, before any of
        # its writes is answered: raises the node's acknowledged sequence (storage.committed).
        self.acknowledge: Callable[[int], None] = lambda sequence: None
        # Whether the node's other workers applied a sequence (admin.siblings), and what to do
        # when one did not within SIBLING_WAIT_SECONDS; with no other worker, always True.
        self.siblings_caught_up: Callable[[int], bool] = lambda sequence: True
        self.siblings_late: Callable[[int], None] = lambda sequence: None
        self._clock = clock
        self._releases: deque[_Release] = deque()  # applied, not answered yet, in commit order
        self._looking: DelayedCall | None = None
        self._released: list[Deferred[None]] = []  # flushed(): fired once nothing waits
        self._unapplied: list[_Queued] = []  # queued or committing, in arrival order
        self._waiting: list[_Queued] = []
        self._marks = _Marks()  # of the unapplied and the waiting writes
        self._arrived = 0
        # Changelog sequences this queue committed and the loop has not applied yet: written
        # by the writer thread, read by the changelog follower's (admin.serving.Follower), which
        # need not read back from the database what this loop is about to apply anyway.
        self.committed_here: set[int] = set()
        # Whether the writer thread is inside a commit: the store publishes the node's committed
        # sequence before the commit returns and `committed_here` names it, so a follower that
        # saw a new sequence while this is true waits for the commit instead of reading back
        # this process's own write from the database.
        self.committing = False
        self._writer: GroupCommit[_Queued, int] = GroupCommit(
            run=run,
            commit=timed(self._commit(store)),
            finish=self._applied,
            clock=clock,
        )

    def _commit(self, store: BatchEntryStore) -> Commit:
        def commit(jobs: list[_Queued]) -> list[int | Exception]:
            self.committing = True
            try:
                results = commit_batch(store, [_writes(job) for job in jobs])
                self.committed_here.update(r for r in results if isinstance(r, int))
            finally:
                self.committing = False
            return results

        return commit

    @property
    def batches(self) -> int:
        return self._writer.batches

    def submit(self, prepare: Callable[[], PreparedWrite], done: Done) -> None:
        """Check the write now, or once what it conflicts with is applied; `done` on the loop."""
        self._arrived += 1
        self._admit(_Queued(prepare, done, self._arrived))

    def flushed(self) -> Deferred[None]:
        """Fires once nothing is queued, committing or waiting to be answered."""
        return Deferred.fromCoroutine(self._flushed())

    async def _flushed(self) -> None:
        await self._writer.flushed()
        if self._releases:
            waiter: Deferred[None] = Deferred()
            self._released.append(waiter)
            await waiter

    def _admit(self, job: _Queued) -> None:
        try:
            job.prepared = job.prepare()
        except Exception as error:  # noqa: BLE001 (a refusal; the session maps it)
            job.prepared = None
            if any(other.order < job.order for other in self._unapplied):
                # Checked against memory that an earlier write is about to change (a child
                # pipelined behind its parent's add): check it again once that is applied.
                self._wait(job)
                return
            job.done(None, error)
            return
        if not job.prepared.writes:
            job.done(None, None)  # nothing to commit (bookkeeping that is already current)
            return
        if self._marks.meet(job.prepared):
            self._wait(job)  # prepared again once the other one is applied
            return
        self._unapplied.append(job)
        self._marks.add(job.prepared)
        self._writer.submit(job)

    def _wait(self, job: _Queued) -> None:
        self._waiting.append(job)
        self._marks.add(job.prepared)

    def _applied(self, jobs: list[_Queued], results: list[int | Exception]) -> None:
        """On the loop: memory first, in commit order; then waiting writes; then the answers."""
        outcomes: list[tuple[Done, Exception | None]] = []
        newest = 0
        for job, result in zip(jobs, results, strict=True):
            self._unapplied.remove(job)
            prepared = job.prepared
            self._marks.remove(prepared)
            if isinstance(result, int) and prepared is not None:
                self._directory.apply_write(prepared, result)
                self.committed_here.discard(result)
                newest = max(newest, result)
                outcomes.append((job.done, None))
            elif isinstance(result, StorageError):
                outcomes.append((job.done, self._directory.refusal(result)))
            else:
                outcomes.append((job.done, _unexpected(result)))
        self.on_applied()
        waiting, self._waiting = self._waiting, []
        for job in waiting:
            self._marks.remove(job.prepared)
        for job in waiting:
            self._admit(job)
        deadline = 0.0 if self._clock is None else self._clock.seconds() + SIBLING_WAIT_SECONDS
        self._releases.append(_Release(newest, outcomes, deadline))
        if self._looking is None:  # else the look already scheduled answers it in turn
            self._release()

    def _release(self) -> None:
        """Acknowledge and answer the batches the other workers applied (or waited for long
        enough), oldest first; look again shortly while one still waits."""
        self._looking = None
        releases = self._releases
        while releases:
            head = releases[0]
            if head.newest and not self.siblings_caught_up(head.newest):
                if self._clock is not None and self._clock.seconds() < head.deadline:
                    self._looking = self._clock.callLater(SIBLING_LOOK_SECONDS, self._release)
                    return
                self.siblings_late(head.newest)
            releases.popleft()
            if head.newest:
                self.acknowledge(head.newest)
            for done, error in head.outcomes:
                done(None, error)
        released, self._released = self._released, []
        for waiter in released:
            waiter.callback(None)


def _step(counts: dict[str, int], marks: frozenset[str], step: int) -> None:
    for mark in marks:
        count = counts.get(mark, 0) + step
        if count:
            counts[mark] = count
        else:
            del counts[mark]


def _writes(job: _Queued) -> Sequence[EntryWrite]:
    return job.prepared.writes if job.prepared is not None else ()


def _unexpected(result: object) -> Exception:
    if isinstance(result, Exception):
        return result
    return RuntimeError(f"the writer returned {type(result).__name__}")  # pragma: no cover
