"""Start the web UI inside `ixidir serve` (the starter the CLI hands to admin.serving)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from twisted.internet.protocol import Factory
from twisted.python.threadpool import ThreadPool
from twisted.web.server import Site

from ixidir.admin.web_serving import WebContext
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
    )
    site = _QuietSite(WebApp(setup, pool))  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    site.noisy = False
    ports = listen(reactor, cast(Factory, site), [context.address], tls=context.tls)
    reactor.callWhenRunning(pool.start)
    reactor.addSystemEventTrigger("before", "shutdown", pool.stop)
    return ports
