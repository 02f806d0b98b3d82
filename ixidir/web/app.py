"""The web UI's HTTP side: one Twisted Web resource, its dispatch, login, language and sessions.

Every request is answered by a coroutine: static files and the login here, the logged-in pages
in pages.py. Those call the same use-cases as the commands (ixidir/admin), on a small thread
pool with `LoopDirectory` as their directory (bridge.py says why). The login is the LDAP bind
(server/binding.py), its hash on the server's hash pool. Every POST carries the session's CSRF
token (the login form a cookie-bound one); cookies are HttpOnly, SameSite=Strict and, under
HTTPS, Secure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ixidir.admin.user_list import UserList
from ixidir.admin.users import Session
from ixidir.directory.limits import DailyLimits, ServiceUsage
from ixidir.directory.requests import AccessClass, Principal
from ixidir.errors import LDAPError
from ixidir.server.audit import AuditLog, Origin
from ixidir.server.bindguard import BindGuard, Caller
from ixidir.server.binding import bind_steps
from ixidir.server.offload import Offload
from ixidir.server.pending import Pending
from ixidir.web.bridge import LoopDirectory
from ixidir.web.fields import MANDATORY, N_, NEW_USER_FIELDS
from ixidir.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Language, choose, load_languages
from ixidir.web.pages import Pages
from ixidir.web.replies import Reply, arg, cookie_of, redirect, respond, static_file
from ixidir.web.sessions import SESSION_COOKIE, Sessions, new_token, same_token
from ixidir.web.transfer import Uploads

LOGIN_CSRF_COOKIE = "ixidir_login"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 60 * 60
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class WebSetup:
    """What the pages need from the server that serves them."""

    reactor: Any
    directory: Any  # ixidir.directory.directory.Directory (the bridge wraps it)
    offload: Offload
    base_dn: str
    secure: bool  # served over HTTPS: cookies get Secure
    data_dir: Path | None = None  # for export and import (the commands run as child processes)
    limits: DailyLimits | None = None  # today's counts, on the web's own counter connection
    audit: AuditLog | None = None
    log: Logger = field(default_factory=lambda: Logger(namespace="ixidir.web"))
    guard: BindGuard | None = None  # the LDAP binds' throttling and lockout (bindguard.py)


class WebApp(Resource):
    isLeaf = True  # noqa: N815 (Twisted Web's name)

    def __init__(self, setup: WebSetup, pool: ThreadPool) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.setup = setup
        self._pool = pool
        self._bridge = LoopDirectory(setup.directory, setup.reactor, setup.offload)
        self.sessions = Sessions(setup.reactor.seconds)
        self._languages = load_languages()
        self.users = UserList()
        self._counting = threading.Lock()  # the web's one counter connection, one thread at a time
        self.uploads = (
            Uploads(setup.data_dir, setup.reactor.seconds) if setup.data_dir is not None else None
        )  # the list use-case, cached per directory generation
        folder = str(files("ixidir.web").joinpath("templates"))
        self._pages = {code: _environment(folder, lang) for code, lang in self._languages.items()}

    # --- Twisted Web ---
    def render(self, request: Request) -> int:
        Deferred.fromCoroutine(self._answer(request))
        return NOT_DONE_YET

    async def _answer(self, request: Request) -> None:
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        started = time.perf_counter()
        try:
            reply = await self._dispatch(request)
            if request.path != b"/login":  # (a login's time is the bind's, said by nobody)
                # The server's own time for the page, for the benchmark and the browser's
                # developer tools (W3C Server Timing).
                spent = (time.perf_counter() - started) * 1000
                reply.headers[b"server-timing"] = f"app;dur={spent:.2f}".encode("ascii")
        except Exception:  # noqa: BLE001 (logged; the browser gets a plain 500)
            self.setup.log.failure("web request failed")
            reply = Reply(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error", b"text/plain")
        if not gone:  # else the browser went away meanwhile
            respond(request, reply)

    async def _dispatch(self, request: Request) -> Reply:
        path = (request.path or b"/").decode("utf-8", "replace")
        method = (request.method or b"GET").decode("ascii", "replace")
        language = self._language(request)
        if path == "/favicon.ico":
            return Reply(HTTPStatus.NOT_FOUND, b"", b"text/plain")
        if path.startswith("/static/"):
            return static_file(path[len("/static/") :])
        if path == "/language" and method == "GET":
            return self._switch_language(request)
        if path == "/login":
            return await self._login(request, method, language)
        session = self.sessions.find(cookie_of(request, SESSION_COOKIE))
        if session is None:
            return redirect("/login")
        if method == "POST" and not same_token(session.csrf, arg(request, "csrf")):
            page = self.render_page(language, "refused.html", session=session, path=path)
            return Reply(HTTPStatus.FORBIDDEN, page)
        page_of = Pages(self, request, session, language, path)
        return await page_of.dispatch(method)

    # --- login, logout, language ---
    async def _login(self, request: Request, method: str, language: str) -> Reply:
        if method == "POST":
            expected = cookie_of(request, LOGIN_CSRF_COOKIE)
            if not expected or not same_token(expected, arg(request, "csrf")):
                return Reply(
                    HTTPStatus.FORBIDDEN, self.render_page(language, "refused.html", path="/login")
                )
            name = (arg(request, "user") or "").strip()
            password = (arg(request, "password") or "").encode("utf-8")
            host = request.getClientAddress()  # type: ignore[no-untyped-call]
            peer = getattr(host, "host", None)
            principal = await self._bind(name, password, peer) if name and password else None
            if principal is not None and principal.access in (
                AccessClass.ADMIN,
                AccessClass.SERVICE,
            ):
                session = self.sessions.open(principal)
                reply = redirect("/users")
                reply.cookies.append(self.cookie(SESSION_COOKIE, session.key))
                reply.cookies.append(self.cookie(LOGIN_CSRF_COOKIE, "", max_age=0))
                return reply
            status: int = HTTPStatus.UNAUTHORIZED
            error = N_("Wrong user name or password, or not an administrator or service account.")
        else:
            status, error, name = HTTPStatus.OK, "", ""
        # The token already given stays valid: a second tab (or a browser's favicon request
        # redirected here) must not invalidate the form shown in the first.
        token = cookie_of(request, LOGIN_CSRF_COOKIE) or new_token()
        page = self.render_page(
            language, "login.html", csrf=token, error=error, user=name, path="/login"
        )
        reply = Reply(status, page)
        reply.cookies.append(self.cookie(LOGIN_CSRF_COOKIE, token))
        return reply

    async def _bind(self, name: str, password: bytes, peer: str | None) -> Principal | None:
        """The LDAP bind's own steps: the same failure counts, lockout and address block."""
        dn = name if "=" in name else f"cn={name},{self.setup.base_dn}"
        client = f"IP={peer} web" if peer is not None else "web"
        steps = bind_steps(
            self.setup.directory,
            dn,
            password,
            guard=self.setup.guard,
            caller=Caller(peer, client, "web"),
        )
        try:
            return await _drive(steps, self.setup.offload)
        except LDAPError:
            return None

    def _switch_language(self, request: Request) -> Reply:
        wanted = arg(request, "to") or ""
        back = arg(request, "next") or "/users"
        if not back.startswith("/") or back.startswith("//") or "\\" in back:
            back = "/users"  # only a page of ours (browsers read "/\\host" as "//host")
        reply = redirect(back)
        if wanted in LANGUAGES:
            reply.cookies.append(
                self.cookie(LANGUAGE_COOKIE, wanted, max_age=LANGUAGE_COOKIE_SECONDS)
            )
        return reply

    def _language(self, request: Request) -> str:
        header = request.getHeader(b"accept-language")
        return choose(
            cookie_of(request, LANGUAGE_COOKIE), header.decode("latin-1") if header else None
        )

    def cookie(self, name: str, value: str, *, max_age: int | None = None) -> bytes:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if self.setup.secure:
            parts.append("Secure")
        return "; ".join(parts).encode("ascii")

    def render_page(self, language: str, template: str, **values: Any) -> bytes:
        lang = self._languages[language]
        values.setdefault("session", None)
        page = self._pages[language].get_template(template)
        return page.render(lang=lang, languages=LANGUAGES, **values).encode("utf-8")

    async def on_thread(
        self, function: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs
    ) -> _R:
        """Run a use-case on the web pool (its directory calls hop back to the loop)."""
        result: _R = await deferToThreadPool(
            self.setup.reactor, self._pool, function, *args, **kwargs
        )
        return result

    def warm_up(self) -> None:
        session = self.use_case_session(
            Principal(f"cn=admin,{self.setup.base_dn}", AccessClass.ADMIN)
        )
        warmed = deferToThreadPool(self.setup.reactor, self._pool, self.users.page, session)
        warmed.addErrback(lambda failure: self.setup.log.failure("user list warm-up", failure))

    def counting(self, call: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Run a daily-limits call on the web's counter connection (on a web thread)."""
        with self._counting:
            return call(*args, **kwargs)

    async def counts(self, principal: Principal, dn: str) -> list[ServiceUsage] | None:
        """Today's counts of a user, None when this server keeps none or cannot read them."""
        limits = self.setup.limits
        if limits is None:
            return None
        try:
            return await self.on_thread(self.counting, limits.usage, principal, dn)
        except LDAPError:
            return None

    def use_case_session(self, principal: Principal, client: str = "web") -> Session:
        """The use-cases' session; the audit log names the web UI and the browser's address."""
        origin = Origin(principal.dn, client, "web")
        return Session(self._bridge, principal, self.setup.base_dn, self.setup.audit, origin)


async def _drive(steps: Generator[Pending, None, _R], offload: Offload) -> _R:
    """Run a sans-IO operation's pending jobs on `offload`, as the LDAP protocol's pump does."""
    try:
        pending = next(steps)
        while True:
            finished: Deferred[tuple[object, Exception | None]] = Deferred()
            offload.start(pending.job, partial(_fire, finished))
            result, error = await finished
            pending.complete(result, error)
            pending = steps.send(None)
    except StopIteration as stop:
        value: _R = stop.value
        return value


def _fire(
    finished: Deferred[tuple[object, Exception | None]], result: object, error: Exception | None
) -> None:
    finished.callback((result, error))


def _environment(folder: str, language: Language) -> Environment:
    pages = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    pages.install_gettext_callables(  # type: ignore[attr-defined]
        language.translations.gettext, language.translations.ngettext, newstyle=True
    )
    pages.filters["number"] = language.number
    pages.filters["moment"] = language.datetime
    pages.globals.update(fields=NEW_USER_FIELDS, mandatory=MANDATORY)
    return pages
