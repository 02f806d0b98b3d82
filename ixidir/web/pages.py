"""The logged-in pages: users, a user's settings, counts and mailbox, new user, delete, site
settings, export and import. Each calls the admin use-cases on a web thread (`WebApp.on_thread`)
with the session's principal, exactly as the commands call them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from twisted.web.server import Request

from ixidir.admin.errors import AdminError
from ixidir.admin.limits_commands import reset_count
from ixidir.admin.site import SITE_ATTRIBUTES, read_site, set_site
from ixidir.admin.templates import render_display_name, render_mail, render_uid
from ixidir.admin.user_commands import EXAMPLE
from ixidir.admin.user_list import DEFAULT_PAGE_SIZE, SORT_COLUMNS
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
from ixidir.errors import LDAPError
from ixidir.limits import Service
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
from ixidir.web.replies import Reply, arg, client_of, int_arg, redirect
from ixidir.web.sessions import SESSION_COOKIE, WebSession
from ixidir.web.transfer import export_ldif, run_command

if TYPE_CHECKING:
    from ixidir.web.app import WebApp

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


class Pages:
    """The pages of one logged-in request: its session, language and path."""

    def __init__(
        self, app: WebApp, request: Request, session: WebSession, language: str, path: str
    ) -> None:
        self.app = app
        self.request = request
        self.session = session
        self.language = language
        self.path = path
        self.use_cases = app.use_case_session(session.principal, client_of(request))

    async def dispatch(self, method: str) -> Reply:
        parts = [p for p in self.path.split("/") if p]
        match method, parts:
            case "GET", [] | ["users"]:
                return await self.users()
            case "POST", ["logout"]:
                self.app.sessions.close(self.session.key)
                reply = redirect("/login")
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
        query = arg(self.request, "q") or ""
        sort = arg(self.request, "sort") or "displayName"
        descending = arg(self.request, "desc") == "1"
        number = int_arg(arg(self.request, "page"), 1)
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
            done=arg(self.request, "done") or "",
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
            errors=errors or {}, done=arg(self.request, "done") or "",
        )  # fmt: skip

    async def save_user(self, uid: str) -> Reply:
        found = await self.user_to_change(uid)
        if isinstance(found, Reply):
            return found
        assignments: list[str] = []
        submitted: dict[str, str] = {}
        for group in USER_GROUPS:
            for item in group.fields:
                given = arg(self.request, item.attr)
                if given is None:
                    continue
                submitted[item.attr] = given
                if given.strip() == _shown(found, item.attr, item.multi).strip():
                    continue
                values = [v.strip() for v in given.splitlines()] if item.multi else [given.strip()]
                values = [v for v in values if v]
                assignments += [f"{item.attr}={v}" for v in values] or [f"{item.attr}="]
        if not assignments:
            return redirect(f"/users/{quote(uid)}?done=unchanged")
        try:
            await self.app.on_thread(set_user, self.use_cases, uid, assignments)
        except AdminError as error:
            names = {f.attr: f.attr for g in USER_GROUPS for f in g.fields}
            where = field_of(str(error), names, submitted) or "_form"
            return await self.user(
                uid, errors={where: str(error)}, values=submitted,
                status=HTTPStatus.UNPROCESSABLE_ENTITY,
            )  # fmt: skip
        return redirect(f"/users/{quote(uid)}?done=saved")

    # --- new user ---
    async def preview(self) -> Reply:
        """The names the templates give (JSON, for preview.js); {} until both names are there."""
        values = {f.attr: (arg(self.request, f.attr) or "").strip() for f in NEW_USER_FIELDS}
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
        values = {f.attr: (arg(self.request, f.attr) or "").strip() for f in NEW_USER_FIELDS}
        errors = {
            key: N_("This field is required.") for key in sorted(MANDATORY) if not values.get(key)
        }
        preview = None
        if not errors:
            try:
                preview = await self.app.on_thread(_preview, self.use_cases, values)
            except AdminError as error:
                errors[field_of(str(error), NEW_USER_ATTRS, values) or "_form"] = str(error)
        if errors or arg(self.request, "action") == "preview":
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
        return redirect(f"/users/{quote(made.first('uid'))}?done=created")

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
            done=arg(self.request, "done") or "",
        )  # fmt: skip

    async def save_settings(self) -> Reply:
        refused = self.forbidden_unless_writer()
        if refused:
            return refused
        stored = await self.app.on_thread(_settings, self.use_cases)
        submitted = {
            key: value.strip() for key in stored if (value := arg(self.request, key)) is not None
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
        return redirect("/settings?done=" + ("saved" if changed else "unchanged"))

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
        token = arg(self.request, "token") or ""
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
        chosen = arg(self.request, "service") or ""
        if limits is None or chosen not in COUNT_RESETS:
            return self.missing()
        try:
            await self.app.on_thread(
                self.app.counting, reset_count, limits, self.session.principal, found.dn,
                COUNT_RESETS[chosen], self.app.setup.audit, self.use_cases.origin,
            )  # fmt: skip
        except (LDAPError, AdminError) as error:
            text = error.message if isinstance(error, LDAPError) else str(error)
            return await self.user(
                uid, errors={"counts": text}, status=HTTPStatus.UNPROCESSABLE_ENTITY
            )
        return redirect(f"/users/{quote(uid)}?done=counted")

    # --- voice mailbox ---
    async def reset_mailbox(self, uid: str) -> Reply:
        """The manual's five reset actions (§4.4.2.5); a new PIN is shown on this reply only."""
        found = await self.user_to_change(uid)
        if isinstance(found, Reply):
            return found
        chosen = RESETS.get(arg(self.request, "reset") or "")
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
        return redirect("/users?" + urlencode({"done": "deleted"}))


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
