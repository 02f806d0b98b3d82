"""Start the web UI inside `ixidir serve` (the starter the CLI hands to admin.serving)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from twisted.internet.protocol import Factory
from twisted.python.threadpool import ThreadPool
from twisted.web.server import Site

from ixidir.admin.runtime import open_counters, utc_now
from ixidir.admin.web_serving import WebContext
from ixidir.config import load_config
from ixidir.directory.limits import DailyLimits
from ixidir.server.listen import listen
from ixidir.web.app import WebApp, WebSetup

# Use-cases wait on the loop most of the time; two threads keep one slow page from holding
# up the next without letting the web crowd the LDAP clients.
WEB_THREADS = 2


class _QuietSite(Site):
    """No access log line per request on the server's log (the audit log records changes)."""

    def log(self, request: Any) -> None:
        return None


def start_web(context: WebContext) -> Sequence[Any]:
    pool = ThreadPool(minthreads=0, maxthreads=WEB_THREADS, name="ixidir-web")
    reactor = context.reactor
    setup = WebSetup(
        reactor=reactor,
        directory=context.directory,
        offload=context.offload,
        base_dn=context.base_dn,
        secure=context.tls is not None,
        audit=context.audit,
        log=context.log,
        data_dir=context.data_dir,
        guard=context.guard,
    )
    # Today's counts: a DailyLimits of the web's own, on its own counter connection, used only
    # from the web threads (one at a time: WebApp holds a lock), never by LDAP searches.
    counters = open_counters(context.data_dir, load_config(context.data_dir))
    limits = DailyLimits(
        directory=context.directory, counters=counters, clock=utc_now, answers_reads=False
    )
    setup = replace(setup, limits=limits)
    reactor.addSystemEventTrigger("after", "shutdown", counters.close)
    app = WebApp(setup, pool)
    site = _QuietSite(app)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    site.noisy = False
    ports = listen(reactor, cast(Factory, site), [context.address], tls=context.tls)
    reactor.callWhenRunning(pool.start)
    # The user list's rows are made once, on a web thread, before anyone asks (at 100,000 users
    # that costs about half a second; later writes only move the rows they change).
    reactor.callWhenRunning(app.warm_up)
    reactor.addSystemEventTrigger("before", "shutdown", pool.stop)
    return ports
