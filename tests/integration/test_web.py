"""The web UI over plain HTTP(S) requests against a real `ixidir serve` (two workers: the web
UI is served once, by the parent): login through the LDAP bind, cookies, CSRF, the pages."""

from __future__ import annotations

import http.client
import re
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from .conftest import (
    ADMIN_PASSWORD,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
    web_url,
)
from .test_audit import _log
from .test_limits import FAX, RESERVE, connect, extended, request_value

SERVICE_DN = "cn=connector,dc=example,dc=com"
SERVICE_PASSWORD = "Serv1ce-secret"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """A cookie jar and http.client: what a browser does, minus the rendering."""

    url: str
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        files: dict[str, bytes] | None = None,
        **headers: str,
    ) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(self.url)
        context = ssl._create_unverified_context()  # noqa: S323 (the self-signed test certificate)
        connection = (
            http.client.HTTPSConnection(parts.netloc, context=context, timeout=30)
            if parts.scheme == "https"
            else http.client.HTTPConnection(parts.netloc, timeout=30)
        )
        body: str | bytes | None = urlencode(form) if form is not None else None
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        if files is not None:
            body, sent["content-type"] = _multipart(form or {}, files)
        elif body is not None:
            sent["content-type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
        self.set_cookies = response.headers.get_all("set-cookie") or []
        for line in self.set_cookies:
            for name, morsel in SimpleCookie(line).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def login(self, user: str = "admin", password: str = ADMIN_PASSWORD) -> int:
        _, _, page = self.request("GET", "/login")
        token = _CSRF.search(page)
        assert token is not None
        status, _, _ = self.request(
            "POST", "/login", {"csrf": token[1], "user": user, "password": password}
        )
        return status

    def csrf(self, path: str) -> str:
        _, _, page = self.request("GET", path)
        token = _CSRF.search(page)
        assert token is not None
        return token[1]


def _multipart(form: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "ixidir-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.ldif"'
        f"\r\nContent-Type: text/plain\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in files.items()
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def web(server: RunningServer) -> str:
    return web_url(server)


def test_served_once_over_https_with_the_ldap_certificate(web: str) -> None:
    assert web.startswith("https://127.0.0.1:")
    status, headers, _ = Browser(web).request("GET", "/users")
    assert (status, urlsplit(headers["location"]).path) == (303, "/login")


def test_login_with_a_wrong_password_is_refused(web: str) -> None:
    browser = Browser(web)
    assert browser.login(password="wrong") == 401
    assert "ixidir_session" not in browser.cookies
    assert browser.login(user="uid=jmueller,ou=people,dc=example,dc=com") == 401  # a user


def test_login_as_admin_sets_a_strict_httponly_secure_cookie_and_logout_ends_it(web: str) -> None:
    browser = Browser(web)
    assert browser.login(user="cn=admin,dc=example,dc=com") == 303
    cookie = next(c for c in browser.set_cookies if c.startswith("ixidir_session="))
    assert {"HttpOnly", "SameSite=Strict", "Secure"} <= {p.strip() for p in cookie.split(";")}
    status, _, page = browser.request("GET", "/users")
    assert status == 200
    assert "jmueller" in page
    token = _CSRF.search(page)
    assert token is not None
    assert browser.request("POST", "/logout", {"csrf": token[1]})[0] == 303
    assert browser.request("GET", "/users")[0] == 303


def test_a_post_without_the_session_csrf_token_is_refused(web: str) -> None:
    browser = Browser(web)
    assert browser.login() == 303
    form = {"telephoneNumber": "+49 8142 555"}
    assert browser.request("POST", "/users/jmueller", {**form, "csrf": "forged"})[0] == 403
    assert browser.request("POST", "/users/jmueller", form)[0] == 403
    assert browser.request("POST", "/login", {"user": "admin", "password": "x"})[0] == 403


def test_list_search_by_number_and_language(web: str) -> None:
    browser = Browser(web)
    browser.login()
    status, _, page = browser.request("GET", "/users?q=08142%2F4799-123", accept_language="de")
    assert status == 200
    assert "Jürgen Müller" in page
    assert "1 Benutzer" in page
    assert 'lang="de"' in page
    browser.request("GET", "/language?to=en&next=/users")
    for elsewhere in ("//example.com/", "/\\example.com/", "https://example.com/"):
        _, headers, _ = browser.request("GET", "/language?" + urlencode({"next": elsewhere}))
        assert headers["location"] == "/users"  # never a redirect off this server
    assert 'lang="en"' in browser.request("GET", "/users", accept_language="de")[2]


def test_settings_are_saved_through_the_use_case_and_refusals_shown_by_the_field(
    web: str, server: RunningServer
) -> None:
    browser = Browser(web)
    browser.login()
    token = browser.csrf("/users/aweiss")
    status, _, page = browser.request(
        "POST", "/users/aweiss", {"csrf": token, "telephoneNumber": "08142 1"}
    )
    assert status == 422
    assert 'id="error-telephoneNumber"' in page
    assert "international form" in page
    status, headers, _ = browser.request(
        "POST", "/users/aweiss", {"csrf": token, "telephoneNumber": "+49 8142 4711"}
    )
    assert status == 303
    assert headers["location"].endswith("done=saved")
    found = server.ldap("ldapsearch", "-b", "dc=example,dc=com", "uid=aweiss", "telephoneNumber")
    assert "telephoneNumber: +49 8142 4711" in found.stdout  # in the directory, over LDAP


def test_new_user_and_delete(web: str, server: RunningServer) -> None:
    browser = Browser(web)
    browser.login()
    token = browser.csrf("/users/new")
    form = {"csrf": token, "given_name": "Jörg", "surname": "", "action": "create"}
    status, _, page = browser.request("POST", "/users/new", form)
    assert status == 422
    assert 'id="error-surname"' in page
    form.update(surname="Bär", mail="joerg.baer@example.com", fax="+49 8142 4799-123")
    status, _, page = browser.request("POST", "/users/new", form)
    assert status == 422
    assert 'id="error-fax"' in page
    assert "jmueller" in page
    form.update(fax="+49 8142 4799 777")
    status, headers, _ = browser.request("POST", "/users/new", form)
    assert status == 303
    assert headers["location"].startswith("/users/jbaer")
    routed = ixidir(server.data_dir, "route", "08142 4799777", check=False)
    assert routed.returncode == 0
    assert "joerg.baer@example.com" in routed.stdout
    assert browser.request("POST", "/users/jbaer/delete", {"csrf": token})[0] == 303
    assert browser.request("GET", "/users/jbaer")[0] == 404


def test_plain_http_on_a_network_address_is_refused_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    toml = data_dir / "ixidir.toml"
    text = toml.read_text()
    toml.write_text(re.sub(r"(?m)^tls_(certificate|key) = .*\n", "", text))
    done = ixidir(data_dir, "serve", "--listen", "127.0.0.1:0", "--web-listen", "0.0.0.0:0",
                  check=False)  # fmt: skip
    assert done.returncode != 0
    assert "--web-listen" in done.stderr
    assert "HTTPS" in done.stderr


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[RunningServer]:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    toml = data_dir / "ixidir.toml"
    text = re.sub(r"(?m)^tls_(certificate|key) = .*\n", "", toml.read_text())
    text = re.sub(r"(?m)^service_accounts = .*$", f'service_accounts = ["{SERVICE_DN}"]', text)
    toml.write_text(text)
    account = tmp_path / "service.ldif"
    account.write_text(
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: connector\nsn: connector\n"
        f"userPassword: {SERVICE_PASSWORD}\n"
    )
    ixidir(data_dir, "import", str(account))
    running = start_server(data_dir, workers=1)
    yield running
    stop_server(running)


def test_plain_http_on_loopback_without_a_certificate(plain_server: RunningServer) -> None:
    url = web_url(plain_server)
    assert url.startswith("http://127.0.0.1:")
    browser = Browser(url)
    assert browser.login() == 303
    cookie = next(c for c in browser.set_cookies if c.startswith("ixidir_session="))
    assert "Secure" not in cookie


def test_web_logins_count_towards_the_bind_lockout(plain_server: RunningServer) -> None:
    """The login runs the LDAP bind's guard: five wrong passwords in the browser lock the
    administrator for LDAP too, the right password is refused while locked, unlock lifts it."""
    browser = Browser(web_url(plain_server))
    for _ in range(5):
        assert browser.login(password="wrong") == 401
    assert browser.login() == 401  # locked: the right password is refused like a wrong one
    assert plain_server.ldap("ldapwhoami").returncode == 49
    ixidir(plain_server.data_dir, "user", "unlock", "cn=admin,dc=example,dc=com")
    assert browser.login() == 303
    assert plain_server.ldap("ldapwhoami").returncode == 0


def test_a_service_account_only_reads(plain_server: RunningServer) -> None:
    browser = Browser(web_url(plain_server))
    assert browser.login(user=SERVICE_DN, password=SERVICE_PASSWORD) == 303
    status, _, page = browser.request("GET", "/users")
    assert status == 200
    assert "(read only)" in page
    assert 'href="/users/new"' not in page
    token = _CSRF.search(page)
    assert token is not None
    form = {"csrf": token[1], "given_name": "A", "surname": "B", "action": "create"}
    assert browser.request("POST", "/users/new", form)[0] == 403


def test_web_listen_empty_switches_it_off(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    running = start_server(data_dir, "--web-listen", "", workers=1)
    try:
        running.process.terminate()
        rest, _ = running.process.communicate(timeout=30)
    finally:
        if running.process.poll() is None:
            running.process.kill()
    assert "web on" not in running.startup_log + rest


def test_voicemail_reset_shows_the_new_pin_once(web: str, server: RunningServer) -> None:
    browser = Browser(web)
    browser.login()
    token = browser.csrf("/users/mhuber")
    status, _, page = browser.request("POST", "/users/mhuber/voicemail", {"csrf": token})
    assert status == 422
    assert 'id="error-reset"' in page  # no action chosen
    status, _, page = browser.request(
        "POST", "/users/mhuber/voicemail", {"csrf": token, "reset": "unlock-new-pin"}
    )
    assert status == 200
    pin = re.search(r'id="new-pin">(\d+)<', page)
    assert pin is not None
    dn = "uid=mhuber,ou=people,dc=example,dc=com"
    compared = server.ldap("ldapcompare", dn, f"ixiVmPin:{pin[1]}")
    assert "TRUE" in compared.stdout  # the PIN shown is the one stored (as a hash)
    _, _, again = browser.request("GET", "/users/mhuber")
    assert pin[1] not in again
    assert 'id="mailbox-pin">A PIN is set.' in again
    assert "The welcome mail will be sent with the next call." in again
    _, _, german = browser.request("GET", "/users/mhuber", accept_language="de")
    assert re.search(r"PIN zuletzt geändert: \d\d\.\d\d\.\d{4}, \d\d:\d\d:\d\d UTC", german)


def test_site_settings_and_templates(web: str, server: RunningServer) -> None:
    browser = Browser(web)
    browser.login()
    status, _, page = browser.request("GET", "/settings", accept_language="de")
    assert status == 200
    assert "Server-Einstellungen" in page
    assert 'id="ixiSiteAreaCode" name="ixiSiteAreaCode" value="8142"' in page
    token = _CSRF.search(page)
    assert token is not None
    bad = {"csrf": token[1], "ixiSiteCountryCode": "neunundvierzig"}
    status, _, page = browser.request("POST", "/settings", bad)
    assert status == 422
    assert 'id="error-ixiSiteCountryCode"' in page
    good = {"csrf": token[1], "mail": "{givenName}.{sn}@beispiel.de", "ixiVmPinMaxFailures": "5"}
    status, headers, _ = browser.request("POST", "/settings", good)
    assert status == 303
    assert headers["location"].endswith("done=saved")
    _, _, page = browser.request("GET", "/settings")
    assert "juergen.mueller@beispiel.de" in page  # the template's example
    shown = ixidir(server.data_dir, "user", "templates")
    assert "{givenName}.{sn}@beispiel.de" in shown.stdout  # the CLI reads what the page stored
    found = server.ldap("ldapsearch", "-b", "cn=ums-defaults,dc=example,dc=com", "-s", "base",
                        "ixiVmPinMaxFailures")  # fmt: skip
    assert "ixiVmPinMaxFailures: 5" in found.stdout
    logged = _log(server, containing="ixiVmPinMaxFailures")  # the audit log names the browser
    assert re.search(
        r"# modify \S+ IP=127\.0\.0\.1:\d+ web result=0 by cn=admin,dc=example", logged
    )


def test_export_and_import_run_the_commands(web: str) -> None:
    browser = Browser(web)
    browser.login()
    status, headers, ldif = browser.request("GET", "/export.ldif")
    assert status == 200
    assert headers["content-disposition"].startswith("attachment")
    assert "dn: uid=jmueller,ou=people,dc=example,dc=com" in ldif
    token = browser.csrf("/transfer")
    clash = (
        "dn: uid=fax2,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\n"
        "uid: fax2\ncn: fax2\nsn: Zwei\nfacsimileTelephoneNumber: +49 8142 4799-123\n"
    )
    status, _, page = browser.request(
        "POST", "/import", {"csrf": token}, files={"file": clash.encode()}
    )
    assert status == 422
    assert "line 1" in page  # the command's own message: the line, the DN, the holder
    assert "jmueller" in page
    assert 'id="import-now"' not in page
    good = clash.replace("4799-123", "4799 555").encode()
    status, _, page = browser.request("POST", "/import", {"csrf": token}, files={"file": good})
    assert status == 200
    assert "dry run" in page
    assert browser.request("GET", "/users/fax2")[0] == 404  # nothing written by the dry run
    upload = re.search(r'name="token" value="([^"]+)"', page)
    assert upload is not None
    status, _, page = browser.request(
        "POST", "/import/confirm", {"csrf": token, "token": upload[1]}
    )
    assert status == 200
    assert "imported 1 entries" in page
    # The server's changelog follower applies what the command committed (milliseconds).
    deadline = time.monotonic() + 30
    while browser.request("GET", "/users/fax2")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert browser.request("GET", "/users/fax2")[0] == 200
    again = browser.request("POST", "/import/confirm", {"csrf": token, "token": upload[1]})
    assert again[0] == 409  # an upload is imported once


def test_todays_counts_and_their_reset(web: str, server: RunningServer) -> None:
    connection = connect(server)
    user = "uid=jmueller,ou=people,dc=example,dc=com"
    assert extended(connection, RESERVE, request_value(user, FAX, 3))[0] == 0
    browser = Browser(web)
    browser.login()
    _, _, page = browser.request("GET", "/users/jmueller")
    fax = re.search(r'id="count-fax">(.*?)</tr>', page, re.DOTALL)
    assert fax is not None
    assert '<td class="used">3</td>' in fax[1]
    token = _CSRF.search(page)
    assert token is not None
    status, headers, _ = browser.request(
        "POST", "/users/jmueller/counts", {"csrf": token[1], "service": "fax"}
    )
    assert status == 303
    assert headers["location"].endswith("done=counted")
    _, _, page = browser.request("GET", "/users/jmueller")
    fax = re.search(r'id="count-fax">(.*?)</tr>', page, re.DOTALL)
    assert fax is not None
    assert '<td class="used">0</td>' in fax[1]
    found = server.ldap("ldapsearch", "-b", user, "-s", "base", "ixiFaxSentToday")
    assert "ixiFaxSentToday: 0" in found.stdout  # LDAP reads the same counters


def test_any_address_over_https_with_the_certificate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)  # init makes the certificate
    running = start_server(data_dir, "--web-listen", "0.0.0.0:0", workers=1)
    try:
        url = web_url(running)
        assert url.startswith("https://0.0.0.0:")
        port = urlsplit(url).port
        assert Browser(f"https://127.0.0.1:{port}").login() == 303
    finally:
        stop_server(running)


_UNNAMED = ("hidden", "submit", "button", "reset")  # controls a label does not name


class _Controls(HTMLParser):
    """The form controls of a page and the ids its labels name (basic accessibility)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self._open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self._open_labels += 1
            if found.get("for"):
                self.labelled.add(str(found["for"]))
        elif tag in ("input", "select", "textarea") and found.get("type") not in _UNNAMED:
            self.controls.append({**found, "_wrapped": "1" if self._open_labels else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._open_labels = max(0, self._open_labels - 1)


@pytest.mark.parametrize(
    "path",
    ["/login", "/users", "/users/new", "/users/jmueller", "/settings", "/transfer"],
)
def test_every_input_has_a_label(web: str, path: str) -> None:
    """Issue 15 item 6: every form control is named by a label (for=id, around it, or
    aria-label), so screen readers and keyboard users know what they are typing into."""
    browser = Browser(web)
    if path != "/login":
        browser.login()
    status, _, page = browser.request("GET", path)
    assert status == 200
    parser = _Controls()
    parser.feed(page)
    assert parser.controls, path
    unnamed = [
        control
        for control in parser.controls
        if not control.get("aria-label")
        and not control["_wrapped"]
        and control.get("id") not in parser.labelled
    ]
    assert unnamed == []
