"""`ixidir serve`: load the directory, listen, and follow other processes' writes.

Reads are answered from memory on the reactor thread; nothing there waits (DESIGN.md "The event
loop never waits"). Password and PIN hashes run on a small thread pool; writes are checked on the
reactor thread and committed by a writer thread with its own connection, with group commit, then
applied to memory and acknowledged (admin/threads.py, server/writes.py); daily-counter operations
likewise on a counters writer. Changes committed by other processes (the CLI, other workers or
nodes) arrive through a follower thread with its own connection: on an embedded database it reads
the node's committed sequence (a memory map) every 2 ms, on a Firebird server it asks for the
changelog head every 20 ms (storage/entries.POLL_SECONDS; no Firebird events, which crashed).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

from twisted.internet.error import CannotListenError
from twisted.internet.task import LoopingCall
from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

from ixidir.admin.addresses import bind_failure, check_bindable, parse_addresses
from ixidir.admin.auditing import open_audit_log
from ixidir.admin.errors import AdminError
from ixidir.admin.heap import loading_heap
from ixidir.admin.limits_serving import connection_limits, raise_file_limit
from ixidir.admin.metrics_files import PublishedCounters, clear_stale, worker_file
from ixidir.admin.metrics_serving import NodeCollector, Publisher, Sampled, serve_metrics
from ixidir.admin.retention import Pruner, resync, retention_of
from ixidir.admin.runtime import (
    build_directory,
    open_counters,
    open_database_of,
    open_store,
    utc_now,
)
from ixidir.admin.siblings import WorkerSequences
from ixidir.admin.snapshots import periodic_snapshots
from ixidir.admin.storeproc import StoreProcess
from ixidir.admin.threads import ServerThreads
from ixidir.admin.tls_serving import bind_policy, check_ldaps, load_tls, watch_certificate
from ixidir.admin.warmstart import Loaded, load_directory, save_snapshot, snapshot_path
from ixidir.admin.web_serving import WebContext, WebStarter, check_web_address
from ixidir.config import load_config, split_address
from ixidir.directory.directory import Directory
from ixidir.directory.limits import DailyLimits
from ixidir.directory.lockout import KnownFailures, ListSubjects, Purge
from ixidir.directory.ports import Change, StorageError, StorageUnavailable
from ixidir.errors import LDAPError
from ixidir.server.bindguard import BindGuard
from ixidir.server.extended import standard_handlers
from ixidir.server.freshness import Freshness
from ixidir.server.limits_ext import RELEASE_OID, RESERVE_OID, limit_handlers
from ixidir.server.listen import bound_addresses, format_address, listen, reserve_port
from ixidir.server.metrics import WorkerMetrics
from ixidir.server.offload import Offload
from ixidir.server.pending import Guard
from ixidir.server.pin_ext import pin_handlers
from ixidir.server.priority import lower_this_thread
from ixidir.server.protocol import LDAPServerFactory
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.bindfailures import GENERATION_FILE, FirebirdBindFailures
from ixidir.storage.changelog import HistoryPruned
from ixidir.storage.committed import CommittedSequence
from ixidir.storage.migrations import utc_now as changelog_clock
from ixidir.storage.writer import CounterWriter

log = Logger(namespace="ixidir")
PURGE_INTERVAL_SECONDS = 24 * 60 * 60
# Failed-bind counts older than this go at the daily purge: longer than any sensible window.
BIND_COUNTS_KEPT_SECONDS = 24 * 60 * 60
# Subjects with failed-bind counts a worker keeps listed; beyond, every bind reads its counts.
LISTED_SUBJECTS = 10_000
WORKER_STOP_SECONDS = 10
# How long the follower waits for an event before it polls the changelog anyway.
FOLLOW_POLL_SECONDS = 1.0
# Own writes a follower may find unapplied and still skip reading (a group commit's batch).
MAX_OWN_PENDING = 1024
# How often a follower on an embedded database reads the node's committed sequence (a memory
# read): the lag behind another worker's write, and the bound of a held request's wait.
LOCAL_POLL_SECONDS = 0.002
# How long a local follower waits for this process's commit before it looks anyway (_only_ours).
MAX_DEFER_SECONDS = 0.02
# How often the follower tries again while the database is unreachable (a Firebird server
# restarting, a cut network); each try is one connection attempt on the follower's thread.
FOLLOW_RETRY_SECONDS = 1.0
# How long a thread running Python may keep the GIL while another waits for it. CPython's 5 ms
# default lets a writer thread inside firebird-driver (pure Python around each call) hold the
# event loop off for up to 5 ms a time: under 20 binds/s + 20 modifies/s, routing p99 measured
# 1.94x slapd's with 5 ms and 1.06x with 0.5 ms in the same kind of run (benchmarks/mixed.py,
# 2 rounds each, 20,000 users); with only the loop running nothing switches, so it costs nothing.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005


def serve(
    data_dir: Path,
    *,
    reactor: Any,
    listen_on: Sequence[str] | None = None,
    listen_ldaps_on: Sequence[str] | None = None,
    metrics_listen_on: str | None = None,
    workers: int | None = None,
    is_worker: bool = False,
    web: WebStarter | None = None,
    web_listen_on: str | None = None,
) -> int:
    """Run the LDAP server on `reactor` until SIGINT/SIGTERM; returns the exit status.

    With several workers (`workers` in ixidir.toml or --workers) this process binds the
    ports with SO_REUSEPORT and starts the other workers on the same addresses; each loads the
    directory and follows the changelog, so a write on one is seen by the others once their
    follower applies it (milliseconds).
    """
    config = load_config(data_dir)
    _start_logging(config.log_level)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    tls = load_tls(data_dir, config, log)
    count = 1 if is_worker else (workers or config.workers)
    addresses = list(listen_on or config.listen)
    parsed = parse_addresses(
        addresses, source="--listen" if listen_on else "'listen' in ixidir.toml"
    )
    ldaps = list(listen_ldaps_on or config.listen_ldaps)
    parsed_ldaps = parse_addresses(ldaps, source="--listen-ldaps or 'listen_ldaps'")
    check_ldaps(ldaps, tls)
    # The web UI once per node: in this process, never in the workers it starts.
    web_address = "" if is_worker or web is None else _web_address(config.web_listen, web_listen_on)
    if web_address:
        source = "--web-listen" if web_listen_on is not None else "'web_listen' in ixidir.toml"
        check_web_address(web_address, tls, source=source)
        check_bindable(parse_addresses([web_address], source=source))
    reserved: list[socket.socket] = []
    children: Children = []
    if count > 1:
        # Reserve the ports (port 0 resolved) for the other workers.
        reserved = [_reserve(host, port) for host, port in parsed + parsed_ldaps]
        bound = [format_address(*sock.getsockname()[:2]) for sock in reserved]
        addresses, ldaps = bound[: len(parsed)], bound[len(parsed) :]
    elif not is_worker:
        check_bindable(parsed + parsed_ldaps)  # a busy port is said at once, not after the load
    metrics_address = config.metrics_listen if metrics_listen_on is None else metrics_listen_on
    if metrics_address:
        split_address(metrics_address, key="--metrics-listen or 'metrics_listen'")
    store = open_store(data_dir, config)
    if not is_worker:
        clear_stale(data_dir)  # files of killed servers (a running one keeps its own)
    metrics = WorkerMetrics()
    published = PublishedCounters(worker_file(data_dir, os.getpid()))
    committed, acknowledged = _open_committed(data_dir, store)
    counters = open_counters(data_dir, config)
    if count > 1:
        # Once the database opened (a failure is said once, not by every worker), and before
        # the load, so the workers load the directory while this process does.
        children = _start_workers(data_dir, addresses, count - 1, ldaps=ldaps)
    # The entry writer's connection lives in a process of its own (admin.storeproc), started
    # now so that it opens the database while this process loads the directory.
    writer_store = StoreProcess(data_dir)
    oids = [*standard_handlers(), RESERVE_OID, RELEASE_OID, *pin_handlers()]
    started = time.monotonic()
    with loading_heap():
        loaded = load_directory(
            data_dir, store, lambda: build_directory(data_dir, config, store, extended_oids=oids)
        )
    directory = loaded.directory
    _log_load(loaded, time.monotonic() - started)
    # The loop's counter connection only reads (ixi…SentToday) and purges; reservations go to
    # the counters writer's own connection.
    limits = DailyLimits(directory=directory, counters=counters, clock=utc_now)
    writer_store.ready()  # a database it could not open is said now, not at the first write
    counter_writer = CounterWriter(open_counters(data_dir, config))
    # Failed binds are counted on the counters writer's thread, on a connection of their own.
    # On an embedded database (one node) its commits advance the node's failed-bind counter,
    # so binds of subjects without counts need not read them (lockout.KnownFailures).
    generation = None if config.storage_dsn else CommittedSequence(data_dir / GENERATION_FILE)
    bind_failures = FirebirdBindFailures(open_database_of(data_dir, config), generation=generation)
    threads = ServerThreads(
        reactor,
        directory=directory,
        entry_store=writer_store,
        counters=counter_writer,
        metrics=metrics,
        guard=bind_failures,
    )
    extended = {
        **standard_handlers(),
        **limit_handlers(limits, on_reservation=metrics.reservation),
        **pin_handlers(),
    }
    follower = Follower(
        directory,
        reactor,
        open_store(data_dir, config),
        committed=committed,
        acknowledged=acknowledged,
        ours=threads.writes.committed_here,
        committing=lambda: threads.writes.committing,
        local=not config.storage_dsn,
    )
    freshness = Freshness(
        committed=acknowledged.read,
        applied=lambda: directory.sequence,
        kick=follower.kick,
        clock=reactor,
        log=log,
    )
    threads.writes.acknowledge = acknowledged.raise_to
    # With other workers on the node, each publishes what it applied, and a write is answered
    # once the others have it too (server.writes: SIBLING_WAIT_SECONDS).
    siblings = WorkerSequences(data_dir, directory.sequence) if count > 1 or is_worker else None
    if siblings is not None:
        threads.writes.siblings_caught_up = siblings.caught_up
        threads.writes.siblings_late = siblings.late
    follower.on_applied = threads.writes.on_applied = partial(
        _applied, directory, freshness, siblings
    )
    purge = LoopingCall(_purge, limits)
    purge.clock = reactor
    purge.start(PURGE_INTERVAL_SECONDS, now=True)
    raise_file_limit(config.max_connections)
    audit = open_audit_log(
        data_dir, config, on_error=lambda error: log.error("audit log: {error}", error=error)
    )
    audit.start()  # records are written by its thread, never on the reactor
    # One guard for LDAP binds and web logins: the same counts, lockouts and address blocks.
    guard = BindGuard(
        throttles=directory.bind_throttles,
        now=changelog_clock,
        log=log,
        audit=audit,
        on_lock=metrics.lockout,
        listing=None if generation is None else _listing(generation, threads.offload),
    )
    factory = LDAPServerFactory(
        directory,
        max_pdu_size=config.max_pdu_size,
        reactor=reactor,
        log=log,
        extended=extended,
        # Building a debug event that the log level then drops cost ~10 % of a search.
        log_searches=config.log_level == "debug",
        tls=tls,
        simple_bind_tls=bind_policy(config, log),
        offload=threads.offload,
        limits=connection_limits(config),
        audit=audit,
        freshness=freshness,
        metrics=metrics,
        guard=guard,
    )
    answers = factory.answers
    directory.state.statistics["ixiAnswerCacheHits"] = lambda: answers.hits
    directory.state.statistics["ixiAnswerCacheMisses"] = lambda: answers.misses
    routing = directory.state.routing.index
    publisher = Publisher(
        metrics,
        published,
        Sampled(
            routing_hits=lambda: routing.hits,
            routing_misses=lambda: routing.misses,
            cache_hits=lambda: answers.hits,
            cache_misses=lambda: answers.misses,
            applied_sequence=lambda: directory.sequence,
            seen_sequence=lambda: follower.seen,
        ),
        clock=reactor,
    )
    try:
        ports = listen(reactor, factory, addresses, reuse_port=count > 1 or is_worker)
        ldaps_ports = listen(reactor, factory, ldaps, tls=tls, reuse_port=count > 1 or is_worker)
        web_ports: Sequence[Any] = ()
        if web_address and web is not None:
            web_ports = web(
                WebContext(reactor, web_address, directory, threads.offload, config.base_dn,
                           tls, audit, log, data_dir, guard)
            )  # fmt: skip
    except CannotListenError as error:
        _stop_workers(children)
        raise AdminError(bind_failure(error.interface, error.port, error.socketError)) from None
    if is_worker:
        _stop_with_parent(reactor)
    elif children:
        reactor.addSystemEventTrigger("before", "shutdown", _stop_workers, children)
        _wait_for_workers(children)  # "listening on" promises that every worker accepts
        for sock in reserved:
            sock.close()
    metrics_on: tuple[str, int] | None = None
    if metrics_address and not is_worker:
        pids = [os.getpid(), *(child.pid for child in children)]
        collector = NodeCollector(
            lambda: [worker_file(data_dir, pid) for pid in pids],
            committed=committed.read,
            snapshot=snapshot_path(data_dir),
        )
        metrics_on = _serve_metrics(metrics_address, collector)
    # Every Firebird connection is opened before the reactor runs (the follower's above): the
    # client library sets its own SIGTERM handling when it attaches, and Twisted's handlers,
    # installed by run(), must be the last word. The listening lines follow once they are in
    # place, so a SIGTERM sent after them always stops the server cleanly.
    threads.start()
    reactor.callWhenRunning(follower.start)
    if not is_worker:  # one process per node purges old failed-bind counts
        bind_purge = LoopingCall(_purge_bind_counts, threads.offload)
        bind_purge.clock = reactor
        reactor.callWhenRunning(bind_purge.start, PURGE_INTERVAL_SECONDS, True)
    watch_certificate(reactor, factory, data_dir=data_dir, log=log, children=children)
    if not is_worker:  # one process per node prunes the changelog (admin.retention)
        pruner = Pruner(
            open_database_of(data_dir, config),
            partial(retention_of, directory.state),
            clock=changelog_clock,
        )
        reactor.callWhenRunning(pruner.start)
        reactor.addSystemEventTrigger("before", "shutdown", pruner.stop)
        snapshots = periodic_snapshots(data_dir, config, directory, reactor=reactor)
        reactor.callWhenRunning(snapshots.start)
        reactor.addSystemEventTrigger("before", "shutdown", snapshots.stop)
    reactor.callWhenRunning(publisher.start)
    reactor.callWhenRunning(_announce, ports, ldaps_ports, metrics_on, web_ports, tls is not None)
    reactor.addSystemEventTrigger("before", "shutdown", follower.stop)
    reactor.addSystemEventTrigger("before", "shutdown", threads.stop)
    reactor.run()
    log.info(
        "answer cache: {hits} hits, {misses} misses; route look-ups: {lookups}",
        hits=factory.answers.hits,
        misses=factory.answers.misses,
        lookups=directory.state.routing.index.stats()["lookups"],
    )
    publisher.stop()
    audit.close()
    if not is_worker:
        _save_snapshot(data_dir, directory, store)
    counter_writer.close()  # the writer threads stopped before shutdown, after a flush
    bind_failures.close()
    writer_store.close()
    counters.close()
    store.close()
    committed.close()
    acknowledged.close()
    if siblings is not None:
        siblings.close()
    # firebird-driver's event thread is not a daemon and can outlive a connection that was
    # shut down under it (seen when SIGTERM arrives right after start): leave without waiting
    # for it. Everything acknowledged is committed; the stores are closed above.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


Children = list[subprocess.Popen[bytes]]


def _open_committed(
    data_dir: Path, store: FirebirdEntryStore
) -> tuple[CommittedSequence, CommittedSequence]:
    """The node's committed and acknowledged sequences, each lowered to the database's if a
    restore left it ahead."""
    shared = CommittedSequence.open(data_dir), CommittedSequence.open_acknowledged(data_dir)
    if _settle(shared, store.last_sequence):
        log.warn("the node's committed sequence was ahead of the database; lowered to it")
    return shared


def _settle(shared: tuple[CommittedSequence, ...], last_sequence: Callable[[], int]) -> bool:
    """Lower each of `shared` that is ahead of the database (only a restore leaves one so).

    One read of the database's last sequence decides whether any is ahead, without a lock: a
    value raised meanwhile is covered by a commit, so not ahead. Only one that is ahead is
    settled, under its `flock` (CommittedSequence.settle reads the database again there). The
    serving loop takes the acknowledged value's `flock` to raise it, so this query must not
    run under that lock on the common path, when nothing is ahead."""
    last = last_sequence()
    ahead = [sequence for sequence in shared if sequence.read() > last]
    return any([sequence.settle(last_sequence) for sequence in ahead])


def _applied(directory: Directory, freshness: Freshness, siblings: WorkerSequences | None) -> None:
    """On the loop, after this worker applied writes (its own or its follower's)."""
    if siblings is not None:
        siblings.publish(directory.sequence)
    freshness.caught_up()


def _reserve(host: str, port: int) -> socket.socket:
    try:
        return reserve_port(host, port)
    except OSError as error:
        raise AdminError(bind_failure(host, port, error)) from None


def _start_workers(
    data_dir: Path, addresses: list[str], count: int, *, ldaps: list[str]
) -> Children:
    """The other worker processes, on the very ports this one reserved (port 0 resolved)."""
    command = [sys.executable, "-m", "ixidir", "--data", str(data_dir), "serve", "--worker"]
    for address in addresses:
        command += ["--listen", address]
    for address in ldaps:
        command += ["--listen-ldaps", address]
    return [
        subprocess.Popen(command, stdout=subprocess.PIPE)  # noqa: S603 (our own command)
        for _ in range(count)
    ]


def _wait_for_workers(children: Children) -> None:
    """Block until every worker printed its listening line; a worker that fails stops all."""
    for child in children:
        output = child.stdout
        line = output.readline() if output is not None else b""
        if not line.startswith(b"listening on"):
            _stop_workers(children)
            raise AdminError(f"a worker process failed to start (exit {child.wait()})")
        # Keep draining its output so a chatty worker can never block on a full pipe.
        if output is not None:
            threading.Thread(target=output.read, daemon=True).start()


def _stop_workers(children: Children) -> None:
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()


def _stop_with_parent(reactor: Any) -> None:
    """A worker whose parent died stops too (it would otherwise serve on, unmanaged)."""
    parent = os.getppid()

    def check() -> None:
        if os.getppid() != parent:
            log.warn("the parent server process is gone; stopping this worker")
            reactor.stop()

    watchdog = LoopingCall(check)
    watchdog.clock = reactor
    watchdog.start(1.0, now=False)


def _log_load(loaded: Loaded, seconds: float) -> None:
    if loaded.why_not_snapshot:
        log.info("not starting from the snapshot: {why}", why=loaded.why_not_snapshot)
    log.info(
        "loaded {entries} entries in {seconds:.2f} s from the {source} "
        "(changelog at {sequence}, {replayed} changes replayed)",
        entries=loaded.counts.entries,
        seconds=seconds,
        source=loaded.source,
        sequence=loaded.counts.sequence,
        replayed=loaded.replayed,
    )


def _save_snapshot(data_dir: Path, directory: Directory, store: FirebirdEntryStore) -> None:
    """Leave a snapshot for the next start; failing to is no error (the next start is cold).

    The workers have stopped; what they committed that this process's follower had not applied
    yet goes in too, so the next start replays nothing."""
    started = time.monotonic()
    try:
        directory.apply_changes(store.changes_since(directory.sequence))
        size = save_snapshot(data_dir, directory, store)
    except (ValueError, OSError, StorageError) as exc:
        log.warn("no snapshot written: {why}", why=exc)
        return
    log.info(
        "snapshot of changelog {sequence} written ({mib:.1f} MiB) in {seconds:.2f} s",
        sequence=directory.sequence,
        mib=size / 2**20,
        seconds=time.monotonic() - started,
    )


def _serve_metrics(address: str, collector: NodeCollector) -> tuple[str, int] | None:
    """Start the metrics listener; a busy address is logged and LDAP is served without it
    (the directory matters more than its figures, and a second server on one machine, as in
    tests, would otherwise fail on the default port)."""
    host, port = split_address(address, key="metrics_listen")
    try:
        bound_host, bound_port, _server = serve_metrics(host, port, collector)
    except OSError as error:
        log.error(
            "metrics not served: {why} (metrics_listen or --metrics-listen)",
            why=bind_failure(host, port, error),
        )
        return None
    return bound_host, bound_port


def _web_address(configured: str, given: str | None) -> str:
    return configured if given is None else given


def _announce(
    ports: Sequence[Any],
    ldaps_ports: Sequence[Any],
    metrics_on: tuple[str, int] | None,
    web_ports: Sequence[Any],
    https: bool,
) -> None:
    for host, port in bound_addresses(ports):
        sys.stdout.write(f"listening on {format_address(host, port)}\n")
    for host, port in bound_addresses(ldaps_ports):
        sys.stdout.write(f"listening on ldaps://{format_address(host, port)}\n")
    if metrics_on is not None:
        sys.stdout.write(f"metrics on http://{format_address(*metrics_on)}\n")
    scheme = "https" if https else "http"
    for host, port in bound_addresses(web_ports):
        sys.stdout.write(f"web on {scheme}://{format_address(host, port)}\n")
    sys.stdout.flush()


def _purge(limits: DailyLimits) -> None:
    """Drop counts of days older than the kept age (90 days); at start and once a day."""
    try:
        removed = limits.purge()
    except LDAPError as error:
        log.warn("could not purge old daily counts: {reason}", reason=error.message)
        return
    if removed:
        log.info("purged {count} old daily counts", count=removed)


def _listing(generation: CommittedSequence, offload: Offload) -> KnownFailures:
    """Who has failed-bind counts on this node, listed on the guard's thread when the node's
    counter moved (at most LISTED_SUBJECTS; more, and every bind looks)."""

    def refresh(as_of: int) -> None:
        def done(result: object, error: Exception | None) -> None:
            found = result if error is None and isinstance(result, frozenset) else None
            listing.listed(found, as_of)

        offload.start(Guard(ListSubjects(LISTED_SUBJECTS)), done)

    listing = KnownFailures(generation.read, refresh)
    return listing


def _purge_bind_counts(offload: Offload) -> None:
    """Drop failed-bind counts older than a day, on the guard's writer thread; once the
    threads run, and once a day."""
    before = changelog_clock() - timedelta(seconds=BIND_COUNTS_KEPT_SECONDS)
    offload.start(Guard(Purge(before)), _purged_binds)


def _purged_binds(removed: object, error: Exception | None) -> None:
    if error is not None:
        log.warn("could not purge old failed-bind counts: {reason}", reason=error)
    elif isinstance(removed, int) and removed:
        log.info("purged {count} old failed-bind counts", count=removed)


def _start_logging(level: str) -> None:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))
    # Twisted's zope interfaces are not visible to mypy; these objects do provide them.
    observer = FilteringLogObserver(
        cast(ILogObserver, textFileLogObserver(sys.stderr)), [cast(ILogFilterPredicate, predicate)]
    )
    globalLogBeginner.beginLoggingTo([cast(ILogObserver, observer)], redirectStandardIO=False)


class Follower:
    """Applies changes other processes commit, in sequence order, on the reactor thread.

    Every Firebird query runs on the follower's own thread and connection; the reactor thread
    only applies what it read."""

    def __init__(
        self,
        directory: Directory,
        reactor: Any,
        store: FirebirdEntryStore,
        *,
        committed: CommittedSequence,
        acknowledged: CommittedSequence | None = None,
        ours: Collection[int] = (),
        committing: Callable[[], bool] = lambda: False,
        local: bool = False,
    ) -> None:
        """`store` is the follower's own connection, used only by its thread. `ours`: the
        sequences this process committed and its loop has yet to apply (WriteQueue), and
        `committing` whether its writer is inside a commit that `ours` may not name yet; `local`:
        the database is this node's alone (embedded), so the node's committed sequence names
        every commit (`_local_news`); several nodes on a Firebird server poll its changelog head."""
        self._directory = directory
        self._reactor = reactor
        self._store = store
        store.polls_often()  # it reads at least every FOLLOW_POLL_SECONDS
        self._committed = committed
        # Settled with the committed one after a restore (the freshness barrier reads it).
        self._shared = (committed,) if acknowledged is None else (committed, acknowledged)
        self._ours = ours
        self._committing = committing
        self._deferred_since: float | None = None  # when a look first waited for a commit
        self._local = local
        self._looked = time.monotonic()  # when the database was last asked for changes
        self.on_applied: Callable[[], None] = lambda: None  # on the reactor, after each apply
        self._stopping = threading.Event()
        self._kicked = threading.Event()
        self._thread = threading.Thread(target=self._run, name="changelog-follower", daemon=True)
        self._seen = directory.sequence
        self._lost_since: float | None = None  # when the database became unreachable

    def start(self) -> None:
        self._thread.start()

    @property
    def seen(self) -> int:
        """The newest sequence this follower read from the database (the metrics' lag)."""
        return self._seen

    def kick(self) -> None:
        """Fetch at once after the current wait (a request waits for an acknowledged write).

        A wait already blocked in firebird-driver's event wait is not cut short (only its
        private API could); the commit's own event ends it within milliseconds."""
        self._kicked.set()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        lower_this_thread()  # following can wait for routing (server.priority)
        store = self._store
        try:
            while not self._stopping.is_set():
                try:
                    self._follow(store)
                except StorageError as failed:  # lost, or any other failed read: try again
                    self._retry_later(failed)
                    continue
                if self._lost_since is not None:
                    log.info(
                        "the changelog follower reached the database again after {seconds:.0f} s",
                        seconds=time.monotonic() - self._lost_since,
                    )
                    self._lost_since = None
        except Exception:  # noqa: BLE001 (a dead follower must be loud, never silent)
            log.failure("the changelog follower stopped; changes by other processes are not seen")
        finally:
            with contextlib.suppress(StorageError):  # a connection the server dropped
                store.close()

    def _follow(self, store: FirebirdEntryStore) -> None:
        """Wait for a change (or a kick) and hand what is new to the reactor."""
        if self._local:
            if not self._local_news():
                return
        elif not self._kicked.is_set():
            store.wait_for_change(FOLLOW_POLL_SECONDS)
        self._kicked.clear()
        self._looked = time.monotonic()
        committed = self._committed.read()
        # This server's own writes are in memory already (applied in order, so the
        # directory's sequence has no gap below it): read only what comes after.
        try:
            changes = store.changes_since(max(self._seen, self._directory.sequence))
        except HistoryPruned as pruned:
            self._seen = resync(self._directory, store, self._reactor, pruned)
            return
        if changes:
            self._seen = changes[-1].sequence
            self._reactor.callFromThread(self._apply, changes)
        if self._seen < committed and _settle(self._shared, store.last_sequence):
            log.warn("the node's committed sequence was ahead of the database; lowered")

    def _local_news(self) -> bool:
        """On an embedded database (the node's alone) every commit raises the node's committed
        sequence as soon as it returns (storage.committed), so that memory-mapped number,
        read every LOCAL_POLL_SECONDS, says when another process committed: no Firebird events.
        Measured under 20 modifies/s (mixed.py-like, one worker): routing p99 ~1.0 ms with the
        event follower, ~0.45 ms with no follower at all: each event woke the driver's event
        thread, its callback and this thread, all Python holding the GIL the loop needs, and
        the follower then read back and decoded this process's own writes. True: look in the
        database now (a change that is not this process's own, a kick, or FOLLOW_POLL_SECONDS
        since the last look: the safety net for a commit whose process died before raising
        the sequence)."""
        if self._kicked.wait(LOCAL_POLL_SECONDS):
            return True
        if time.monotonic() - self._looked >= FOLLOW_POLL_SECONDS:
            return True
        return not self._only_ours(self._committed.read())

    def _only_ours(self, committed: int) -> bool:
        """Whether every change the node committed beyond memory is this process's own (its
        loop applies them; nothing to read). While this process's writer is inside a commit,
        a sequence `ours` does not name yet may be that commit's: look again after it (read
        `committed` first, then `committing`: a commit that published before the read and
        has ended has named its sequences). Another process's change waits for that, at most
        MAX_DEFER_SECONDS under back-to-back commits; a request waiting for it kicks the
        follower (Freshness)."""
        if self._committing():
            now = time.monotonic()
            if self._deferred_since is None:
                self._deferred_since = now
            if now - self._deferred_since < MAX_DEFER_SECONDS:
                return True
        self._deferred_since = None
        applied = self._directory.sequence
        if committed - applied > MAX_OWN_PENDING:
            return False
        ours = self._ours
        return all(sequence in ours for sequence in range(applied + 1, committed + 1))

    def _retry_later(self, failed: StorageError) -> None:
        """The database is out of reach, or a read of it failed: say so once, then try again
        every few moments (the store reconnects at its next call) instead of never following
        again. A follower that stopped at the first unexpected error left its worker serving
        stale entries for good: a driver error after a Firebird server restart did (fcfc74a)."""
        if self._lost_since is None:
            self._lost_since = time.monotonic()
            lost = isinstance(failed, StorageUnavailable)
            log.warn(
                "the changelog follower {what} ({why}); trying again every {seconds:.0f} s",
                what="lost the database" if lost else "could not read the changelog",
                why=failed,
                seconds=FOLLOW_RETRY_SECONDS,
            )
        self._stopping.wait(FOLLOW_RETRY_SECONDS)

    def _apply(self, changes: list[Change]) -> None:
        self._directory.apply_changes(changes)
        self.on_applied()
