"""The web UI's pages: HTTP in, an admin use-case on a web thread, a Jinja2 page out.

One Twisted Web resource dispatches on method and path. Every page that reads or changes
users calls the same use-cases as `ixidir user ...` (ixidir.admin.users, user_list), on a
small thread pool with `LoopDirectory` as their directory (bridge.py says why). The login is
the LDAP bind (server/binding.py), its hash on the server's hash pool. Every POST carries the
session's CSRF token (the login form a cookie-bound one); cookies are HttpOnly, SameSite=Strict
and, under HTTPS, Secure.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ixidir.admin.errors import AdminError
from ixidir.admin.limits_commands import reset_count
from ixidir.admin.site import SITE_ATTRIBUTES, read_site, set_site
from ixidir.admin.templates import render_display_name, render_mail, render_uid
from ixidir.admin.user_commands import EXAMPLE
from ixidir.admin.user_list import DEFAULT_PAGE_SIZE, SORT_COLUMNS, UserList
from ixidir.admin.users import (
    TEMPLATE_ATTRS,
    NewUser,
    Session,
    User,
    add_user,
    delete_user,
    find_user,
    free_uid,
    read_templates,
    set_templates,
    set_user,
)
from ixidir.admin.voicemail import ResetActions, mailbox_status, reset_voicemail
from ixidir.directory.limits import DailyLimits, ServiceUsage
from ixidir.directory.requests import AccessClass, Principal
from ixidir.errors import LDAPError
from ixidir.limits import Service
from ixidir.server.audit import AuditLog
from ixidir.server.binding import bind_steps
from ixidir.server.offload import Offload
from ixidir.server.pending import Pending
from ixidir.web.bridge import LoopDirectory
from ixidir.web.fields import (
    MANDATORY,
    N_,
    NEW_USER_ATTRS,
    NEW_USER_FIELDS,
    SITE_GROUPS,
    TEMPLATE_FIELDS,
    USER_GROUPS,
    field_of,
)
from ixidir.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Language, choose, load_languages
from ixidir.web.sessions import SESSION_COOKIE, Sessions, WebSession, new_token, same_token
from ixidir.web.transfer import Uploads, export_ldif, run_command

LOGIN_CSRF_COOKIE = "ixidir_login"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 60 * 60
STATIC_TYPES = {".css": b"text/css; charset=utf-8", ".js": b"text/javascript; charset=utf-8"}
# Content-Security-Policy: scripts, styles and requests only from ixidir itself (one small
# script of ours: the new-user preview), nothing inline, no frames.
CSP = (
    b"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    b"img-src 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Today's count reset: one service or all (`ixidir limits reset [--service S]`).
COUNT_RESETS: dict[str, Service | None] = {"all": None} | {s.name.lower(): s for s in Service}
# The vendor's five reset actions (manual §4.4.2.5), in its order, by form value.
RESETS = {
    "resend": ResetActions(resend_welcome=True),
    "new-pin": ResetActions(new_pin=True, resend_welcome=True),
    "unlock": ResetActions(unlock=True),
    "unlock-resend": ResetActions(unlock=True, resend_welcome=True),
    "unlock-new-pin": ResetActions(unlock=True, new_pin=True, resend_welcome=True),
}
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


@dataclass(slots=True)
class Reply:
    status: int = HTTPStatus.OK
    body: bytes = b""
    content_type: bytes = b"text/html; charset=utf-8"
    headers: dict[bytes, bytes] = field(default_factory=dict)
    cookies: list[bytes] = field(default_factory=list)


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
            _respond(request, reply)

    async def _dispatch(self, request: Request) -> Reply:
        path = (request.path or b"/").decode("utf-8", "replace")
        method = (request.method or b"GET").decode("ascii", "replace")
        language = self._language(request)
        if path == "/favicon.ico":
            return Reply(HTTPStatus.NOT_FOUND, b"", b"text/plain")
        if path.startswith("/static/"):
            return _static(path[len("/static/") :])
        if path == "/language" and method == "GET":
            return self._switch_language(request)
        if path == "/login":
            return await self._login(request, method, language)
        session = self.sessions.find(_cookie(request, SESSION_COOKIE))
        if session is None:
            return _redirect("/login")
        if method == "POST" and not same_token(session.csrf, _arg(request, "csrf")):
            page = self.render_page(language, "refused.html", session=session, path=path)
            return Reply(HTTPStatus.FORBIDDEN, page)
        page_of = _PageOf(self, request, session, language, path)
        return await page_of.dispatch(method)

    # --- login, logout, language ---
    async def _login(self, request: Request, method: str, language: str) -> Reply:
        if method == "POST":
            expected = _cookie(request, LOGIN_CSRF_COOKIE)
            if not expected or not same_token(expected, _arg(request, "csrf")):
                return Reply(
                    HTTPStatus.FORBIDDEN, self.render_page(language, "refused.html", path="/login")
                )
            name = (_arg(request, "user") or "").strip()
            password = (_arg(request, "password") or "").encode("utf-8")
            principal = await self._bind(name, password) if name and password else None
            if principal is not None and principal.access in (
                AccessClass.ADMIN,
                AccessClass.SERVICE,
            ):
                session = self.sessions.open(principal)
                reply = _redirect("/users")
                reply.cookies.append(self.cookie(SESSION_COOKIE, session.key))
                reply.cookies.append(self.cookie(LOGIN_CSRF_COOKIE, "", max_age=0))
                return reply
            status: int = HTTPStatus.UNAUTHORIZED
            error = N_("Wrong user name or password, or not an administrator or service account.")
        else:
            status, error, name = HTTPStatus.OK, "", ""
        # The token already given stays valid: a second tab (or a browser's favicon request
        # redirected here) must not invalidate the form shown in the first.
        token = _cookie(request, LOGIN_CSRF_COOKIE) or new_token()
        page = self.render_page(
            language, "login.html", csrf=token, error=error, user=name, path="/login"
        )
        reply = Reply(status, page)
        reply.cookies.append(self.cookie(LOGIN_CSRF_COOKIE, token))
        return reply

    async def _bind(self, name: str, password: bytes) -> Principal | None:
        """The LDAP bind's own steps (throttling and lockout included, wherever they live)."""
        dn = name if "=" in name else f"cn={name},{self.setup.base_dn}"
        try:
            return await _drive(bind_steps(self.setup.directory, dn, password), self.setup.offload)
        except LDAPError:
            return None

    def _switch_language(self, request: Request) -> Reply:
        wanted = _arg(request, "to") or ""
        back = _arg(request, "next") or "/users"
        if not back.startswith("/") or back.startswith("//"):
            back = "/users"
        reply = _redirect(back)
        if wanted in LANGUAGES:
            reply.cookies.append(
                self.cookie(LANGUAGE_COOKIE, wanted, max_age=LANGUAGE_COOKIE_SECONDS)
            )
        return reply

    def _language(self, request: Request) -> str:
        header = request.getHeader(b"accept-language")
        return choose(
            _cookie(request, LANGUAGE_COOKIE), header.decode("latin-1") if header else None
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

    def use_case_session(self, principal: Principal) -> Session:
        return Session(self._bridge, principal, self.setup.base_dn, self.setup.audit)


class _PageOf:
    """One logged-in request: its session, language and path."""

    def __init__(
        self, app: WebApp, request: Request, session: WebSession, language: str, path: str
    ) -> None:
        self.app = app
        self.request = request
        self.session = session
        self.language = language
        self.path = path
        self.use_cases = app.use_case_session(session.principal)

    async def dispatch(self, method: str) -> Reply:
        parts = [p for p in self.path.split("/") if p]
        match method, parts:
            case "GET", [] | ["users"]:
                return await self.users()
            case "POST", ["logout"]:
                self.app.sessions.close(self.session.key)
                reply = _redirect("/login")
                reply.cookies.append(self.app.cookie(SESSION_COOKIE, "", max_age=0))
                return reply
            case "GET", ["settings"]:
                return await self.settings()
            case "POST", ["settings"]:
                return await self.save_settings()
            case "GET", ["transfer"]:
                return self.transfer_page()
            case "GET", ["export.ldif"]:
                return await self.export()
            case "POST", ["import"]:
                return await self.import_dry_run()
            case "POST", ["import", "confirm"]:
                return await self.import_now()
            case "GET", ["users", "preview"]:
                return await self.preview()
            case "GET", ["users", "new"]:
                return self.page("new_user.html", values={}, errors={}, preview=None)
            case "POST", ["users", "new"]:
                return await self.new_user()
            case "GET", ["users", uid]:
                return await self.user(uid)
            case "POST", ["users", uid]:
                return await self.save_user(uid)
            case "GET", ["users", uid, "delete"]:
                return await self.confirm_delete(uid)
            case "POST", ["users", uid, "delete"]:
                return await self.delete(uid)
            case "POST", ["users", uid, "counts"]:
                return await self.reset_counts(uid)
            case "POST", ["users", uid, "voicemail"]:
                return await self.reset_mailbox(uid)
        return self.missing()

    async def find(self, uid: str) -> User | None:
        try:
            return await self.app.on_thread(find_user, self.use_cases, uid)
        except AdminError:
            return None

    async def user_to_change(self, uid: str) -> User | Reply:
        """The user, or the reply refusing a change (read-only account, no such user)."""
        refused = self.forbidden_unless_writer()
        if refused:
            return refused
        found = await self.find(uid)
        return self.missing() if found is None else found

    def missing(self) -> Reply:
        return self.page("missing.html", status=HTTPStatus.NOT_FOUND)

    def page(self, template: str, *, status: int = HTTPStatus.OK, **values: Any) -> Reply:
        body = self.app.render_page(
            self.language, template, session=self.session, path=self.path,
            query=self.request.uri.decode("utf-8", "replace"), **values,
        )  # fmt: skip
        return Reply(status, body)

    def forbidden_unless_writer(self) -> Reply | None:
        if self.session.can_write:
            return None
        return self.page("refused.html", status=HTTPStatus.FORBIDDEN)

    # --- the list ---
    async def users(self) -> Reply:
        query = _arg(self.request, "q") or ""
        sort = _arg(self.request, "sort") or "displayName"
        descending = _arg(self.request, "desc") == "1"
        number = _int(_arg(self.request, "page"), 1)
        listed = await self.app.on_thread(
            self.app.users.page, self.use_cases,
            query=query, sort=sort, descending=descending, page=number, size=DEFAULT_PAGE_SIZE,
        )  # fmt: skip

        def link(**changes: object) -> str:
            params = {"q": query, "sort": listed.sort, "desc": "1" if listed.descending else ""}
            params.update({k: str(v) for k, v in changes.items()})
            return "/users?" + urlencode({k: v for k, v in params.items() if v})

        return self.page(
            "users.html", listing=listed, search=query, columns=SORT_COLUMNS, link=link,
            done=_arg(self.request, "done") or "",
        )  # fmt: skip

    # --- one user ---
    async def user(
        self,
        uid: str,
        *,
        errors: Mapping[str, str] | None = None,
        values: Mapping[str, str] | None = None,
        status: int = HTTPStatus.OK,
    ) -> Reply:
        found = await self.find(uid)
        if found is None:
            return self.missing()
        shown = {f.attr: _shown(found, f.attr, f.multi) for g in USER_GROUPS for f in g.fields}
        shown.update(values or {})
        mailbox = await self.app.on_thread(
            mailbox_status, self.use_cases, found.dn, now=datetime.now(UTC)
        )
        counts = await self.app.counts(self.session.principal, found.dn)
        return self.page(
            "user.html",
            counts=counts,
            mailbox=mailbox,
            resets=RESETS, status=status, user=found, groups=USER_GROUPS, values=shown,
            errors=errors or {}, done=_arg(self.request, "done") or "",
        )  # fmt: skip

    async def save_user(self, uid: str) -> Reply:
        found = await self.user_to_change(uid)
        if isinstance(found, Reply):
            return found
        assignments: list[str] = []
        submitted: dict[str, str] = {}
        for group in USER_GROUPS:
            for item in group.fields:
                given = _arg(self.request, item.attr)
                if given is None:
                    continue
                submitted[item.attr] = given
                if given.strip() == _shown(found, item.attr, item.multi).strip():
                    continue
                values = [v.strip() for v in given.splitlines()] if item.multi else [given.strip()]
                values = [v for v in values if v]
                assignments += [f"{item.attr}={v}" for v in values] or [f"{item.attr}="]
        if not assignments:
            return _redirect(f"/users/{quote(uid)}?done=unchanged")
        try:
            await self.app.on_thread(set_user, self.use_cases, uid, assignments)
        except AdminError as error:
            names = {f.attr: f.attr for g in USER_GROUPS for f in g.fields}
            where = field_of(str(error), names, submitted) or "_form"
            return await self.user(
                uid, errors={where: str(error)}, values=submitted,
                status=HTTPStatus.UNPROCESSABLE_ENTITY,
            )  # fmt: skip
        return _redirect(f"/users/{quote(uid)}?done=saved")

    # --- new user ---
    async def preview(self) -> Reply:
        """The names the templates give (JSON, for preview.js); {} until both names are there."""
        values = {f.attr: (_arg(self.request, f.attr) or "").strip() for f in NEW_USER_FIELDS}
        shown: dict[str, str] = {}
        if values["given_name"] and values["surname"]:
            try:
                shown = await self.app.on_thread(_preview, self.use_cases, values)
            except AdminError as error:
                shown = {"error": str(error)}
        return Reply(HTTPStatus.OK, json.dumps(shown).encode(), b"application/json")

    async def new_user(self) -> Reply:
        refused = self.forbidden_unless_writer()
        if refused:
            return refused
        values = {f.attr: (_arg(self.request, f.attr) or "").strip() for f in NEW_USER_FIELDS}
        errors = {
            key: N_("This field is required.") for key in sorted(MANDATORY) if not values.get(key)
        }
        preview = None
        if not errors:
            try:
                preview = await self.app.on_thread(_preview, self.use_cases, values)
            except AdminError as error:
                errors[field_of(str(error), NEW_USER_ATTRS, values) or "_form"] = str(error)
        if errors or _arg(self.request, "action") == "preview":
            status = HTTPStatus.UNPROCESSABLE_ENTITY if errors else HTTPStatus.OK
            return self.page(
                "new_user.html", status=status, values=values, errors=errors, preview=preview
            )
        new = NewUser(
            given_name=values["given_name"], surname=values["surname"],
            mail=values["mail"] or None, fax=(values["fax"],) if values["fax"] else (),
            phone=values["phone"] or None, mobile=values["mobile"] or None,
            company=values["company"] or None, department=values["department"] or None,
        )  # fmt: skip
        try:
            made = await self.app.on_thread(add_user, self.use_cases, new)
        except AdminError as error:
            errors[field_of(str(error), NEW_USER_ATTRS, values) or "_form"] = str(error)
            return self.page(
                "new_user.html", status=HTTPStatus.UNPROCESSABLE_ENTITY, values=values,
                errors=errors, preview=preview,
            )  # fmt: skip
        return _redirect(f"/users/{quote(made.first('uid'))}?done=created")

    # --- site settings and templates ---
    async def settings(
        self,
        *,
        errors: Mapping[str, str] | None = None,
        values: Mapping[str, str] | None = None,
        status: int = HTTPStatus.OK,
    ) -> Reply:
        stored = await self.app.on_thread(_settings, self.use_cases)
        shown = {**stored, **(values or {})}
        examples = {
            key: _example(key, shown.get(key, "")) for key in ("display_name", "uid", "mail")
        }
        return self.page(
            "settings.html", status=status, groups=SITE_GROUPS, template_fields=TEMPLATE_FIELDS,
            values=shown, examples=examples, errors=errors or {},
            done=_arg(self.request, "done") or "",
        )  # fmt: skip

    async def save_settings(self) -> Reply:
        refused = self.forbidden_unless_writer()
        if refused:
            return refused
        stored = await self.app.on_thread(_settings, self.use_cases)
        submitted = {
            key: value.strip() for key in stored if (value := _arg(self.request, key)) is not None
        }
        changed = {key: value for key, value in submitted.items() if value != stored[key]}
        site = {key: value for key, value in changed.items() if key in SITE_ATTRIBUTES}
        templates = {key: value for key, value in changed.items() if key in TEMPLATE_ATTRS}
        try:
            if templates:
                await self.app.on_thread(set_templates, self.use_cases, templates)
            if site:
                await self.app.on_thread(set_site, self.use_cases, site)
        except AdminError as error:
            names = {name: name for name in SITE_ATTRIBUTES}
            names.update({attr: key for key, attr in TEMPLATE_ATTRS.items()})
            where = field_of(str(error), names, changed) or "_form"
            return await self.settings(
                errors={where: str(error)}, values=submitted,
                status=HTTPStatus.UNPROCESSABLE_ENTITY,
            )  # fmt: skip
        return _redirect("/settings?done=" + ("saved" if changed else "unchanged"))

    # --- LDIF export and import (the commands, as child processes: transfer.py) ---
    def transfer_page(self, **values: Any) -> Reply:
        status = values.pop("status", HTTPStatus.OK)
        return self.page("transfer.html", status=status, **values)

    async def export(self) -> Reply:
        refused = self.forbidden_unless_writer()  # the export holds the password hashes
        if refused or self.app.setup.data_dir is None:
            return refused or self.missing()
        content, problem = await export_ldif(self.app.setup.reactor, self.app.setup.data_dir)
        if problem:
            return self.transfer_page(output=problem, status=HTTPStatus.INTERNAL_SERVER_ERROR)
        reply = Reply(HTTPStatus.OK, content, b"text/plain; charset=utf-8")
        reply.headers[b"content-disposition"] = b'attachment; filename="ixidir-export.ldif"'
        return reply

    async def import_dry_run(self) -> Reply:
        refused = self.forbidden_unless_writer()
        uploads, data_dir = self.app.uploads, self.app.setup.data_dir
        if refused or uploads is None or data_dir is None:
            return refused or self.missing()
        content = (self.request.args or {}).get(b"file", [b""])[0]
        if not content.strip():
            return self.transfer_page(
                errors={"file": N_("Choose an LDIF file.")}, status=HTTPStatus.UNPROCESSABLE_ENTITY
            )
        token, path = uploads.keep(content)
        checked = await run_command(
            self.app.setup.reactor, data_dir, "import", str(path), "--dry-run"
        )
        if checked.status != 0:
            uploads.drop(token)
        status = HTTPStatus.OK if checked.status == 0 else HTTPStatus.UNPROCESSABLE_ENTITY
        return self.transfer_page(
            status=status, output=checked.output, checked=checked.status == 0, token=token
        )

    async def import_now(self) -> Reply:
        refused = self.forbidden_unless_writer()
        uploads, data_dir = self.app.uploads, self.app.setup.data_dir
        if refused or uploads is None or data_dir is None:
            return refused or self.missing()
        token = _arg(self.request, "token") or ""
        found = uploads.find(token)
        if found is None:
            return self.transfer_page(
                errors={"file": N_("The upload is gone: upload the file again.")},
                status=HTTPStatus.CONFLICT,
            )
        done = await run_command(self.app.setup.reactor, data_dir, "import", str(found))
        uploads.drop(token)
        status = HTTPStatus.OK if done.status == 0 else HTTPStatus.UNPROCESSABLE_ENTITY
        return self.transfer_page(status=status, output=done.output, imported=done.status == 0)

    # --- today's counts ---
    async def reset_counts(self, uid: str) -> Reply:
        found = await self.user_to_change(uid)
        if isinstance(found, Reply):
            return found
        limits = self.app.setup.limits
        chosen = _arg(self.request, "service") or ""
        if limits is None or chosen not in COUNT_RESETS:
            return self.missing()
        try:
            await self.app.on_thread(
                self.app.counting, reset_count, limits, self.session.principal, found.dn,
                COUNT_RESETS[chosen], self.app.setup.audit,
            )  # fmt: skip
        except (LDAPError, AdminError) as error:
            text = error.message if isinstance(error, LDAPError) else str(error)
            return await self.user(
                uid, errors={"counts": text}, status=HTTPStatus.UNPROCESSABLE_ENTITY
            )
        return _redirect(f"/users/{quote(uid)}?done=counted")

    # --- voice mailbox ---
    async def reset_mailbox(self, uid: str) -> Reply:
        """The manual's five reset actions (§4.4.2.5); a new PIN is shown on this reply only."""
        found = await self.user_to_change(uid)
        if isinstance(found, Reply):
            return found
        chosen = RESETS.get(_arg(self.request, "reset") or "")
        if chosen is None:
            return await self.user(
                uid, errors={"reset": N_("Choose what the reset does.")},
                status=HTTPStatus.UNPROCESSABLE_ENTITY,
            )  # fmt: skip
        try:
            outcome = await self.app.on_thread(reset_voicemail, self.use_cases, found.dn, chosen)
        except AdminError as error:
            return await self.user(
                uid, errors={"reset": str(error)}, status=HTTPStatus.UNPROCESSABLE_ENTITY
            )
        pin = outcome.pin.decode("ascii") if outcome.pin is not None else None
        return self.page("voicemail.html", user=found, actions=chosen, pin=pin)

    # --- delete ---
    async def confirm_delete(self, uid: str) -> Reply:
        found = await self.user_to_change(uid)
        return found if isinstance(found, Reply) else self.page("delete.html", user=found)

    async def delete(self, uid: str) -> Reply:
        refused = self.forbidden_unless_writer()
        if refused:
            return refused
        try:
            await self.app.on_thread(delete_user, self.use_cases, uid)
        except AdminError as error:
            return self.page("missing.html", status=HTTPStatus.CONFLICT, error=str(error))
        return _redirect("/users?" + urlencode({"done": "deleted"}))


def _preview(session: Session, values: Mapping[str, str]) -> dict[str, str]:
    """Display name, uid and mail as the templates make them (what `user add` would store)."""
    templates = read_templates(session)
    fields = {
        "givenname": values["given_name"],
        "sn": values["surname"],
        "surname": values["surname"],
    }
    fields.update(
        {"company": values["company"], "o": values["company"]} if values["company"] else {}
    )
    fields["uid"] = free_uid(session, render_uid(templates.uid, fields))
    mail = values["mail"]
    if not mail and templates.mail is not None:
        mail = render_mail(templates.mail, fields)
    return {
        "display_name": render_display_name(templates.display_name, fields),
        "uid": fields["uid"],
        "mail": mail,
    }


def _settings(session: Session) -> dict[str, str]:
    """The site settings and the templates, as the settings form shows them."""
    templates = read_templates(session)
    return {
        **read_site(session),
        "display_name": templates.display_name,
        "uid": templates.uid,
        "mail": templates.mail or "",
    }


def _example(key: str, template: str) -> str:
    """A template applied to the manual's sample user, or why it cannot be."""
    render = {"display_name": render_display_name, "uid": render_uid, "mail": render_mail}[key]
    if not template:
        return ""
    try:
        return render(template, EXAMPLE)
    except AdminError as error:
        return str(error)


def _shown(user: User, attr: str, multi: bool) -> str:
    values = user.attributes.get(attr, ())
    return "\n".join(values) if multi else (values[0] if values else "")


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


def _respond(request: Any, reply: Reply) -> None:
    """Write the reply (Twisted Web's request methods are untyped: `Any` here only)."""
    request.setResponseCode(reply.status)
    request.setHeader(b"content-type", reply.content_type)
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"referrer-policy", b"same-origin")
    request.setHeader(b"content-security-policy", CSP)
    request.setHeader(b"cache-control", b"no-store")
    for name, value in reply.headers.items():
        request.setHeader(name, value)
    for cookie in reply.cookies:
        request.responseHeaders.addRawHeader(b"set-cookie", cookie)
    request.write(reply.body)
    request.finish()


def _static(name: str) -> Reply:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or suffix not in STATIC_TYPES:
        return Reply(HTTPStatus.NOT_FOUND, b"not found", b"text/plain")
    source = files("ixidir.web").joinpath("static", name)
    if not source.is_file():
        return Reply(HTTPStatus.NOT_FOUND, b"not found", b"text/plain")
    reply = Reply(HTTPStatus.OK, source.read_bytes(), STATIC_TYPES[suffix])
    reply.headers[b"cache-control"] = b"max-age=3600"
    return reply


def _redirect(location: str) -> Reply:
    return Reply(HTTPStatus.SEE_OTHER, b"", headers={b"location": location.encode("utf-8")})


def _cookie(request: Any, name: str) -> str | None:
    value = request.getCookie(name.encode("ascii"))
    return value.decode("ascii", "replace") if value else None


def _arg(request: Request, name: str) -> str | None:
    values = (request.args or {}).get(name.encode("ascii"))
    return values[0].decode("utf-8", "replace") if values else None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
