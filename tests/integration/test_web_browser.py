"""The web UI in a real browser: Debian's chromium, headless, driven by Selenium.

Started by the test with a fresh profile; chromedriver comes from Debian's chromium-driver
(./dev installs both), never downloaded (Selenium Manager is not used: the path is given).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from .conftest import ADMIN_PASSWORD, RunningServer, web_url

CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
)  # fmt: skip


WAIT_SECONDS = 20


def at(browser: webdriver.Chrome, path: str) -> bool:
    """Wait until the browser shows `path` (a click's navigation may still be under way)."""
    WebDriverWait(browser, WAIT_SECONDS).until(lambda b: b.current_url.split("?")[0].endswith(path))
    return True


@pytest.fixture(scope="module")
def web(server: RunningServer) -> str:
    return web_url(server)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("chromium and chromium-driver are missing: run ./dev setup")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--lang=en-US")
    options.accept_insecure_certs = True  # the server's self-signed certificate
    made = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    made.set_page_load_timeout(60)
    made.implicitly_wait(WAIT_SECONDS)  # elements of the page a click leads to
    yield made
    made.quit()


def go(browser: webdriver.Chrome, element_id: str) -> None:
    """Click what leads to another page and wait until that page is there (the clicked
    element gone), so nothing is read from the page being left."""
    element = browser.find_element(By.ID, element_id)
    element.click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: _left(element))


def _left(element: WebElement) -> bool:
    """Whether `element`'s page is gone. Selenium's staleness_of expects
    StaleElementReferenceException; chromedriver sometimes reports the same state, while the
    new page replaces the old, as "Node with given id does not belong to the document"."""
    try:
        return staleness_of(element)(None)
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise


def login(browser: webdriver.Chrome, web: str, password: str = ADMIN_PASSWORD) -> None:
    browser.get(web + "/login")
    browser.find_element(By.ID, "user").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(password)
    go(browser, "login")


def test_login_wrong_password_and_logout(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web, password="wrong")
    assert browser.find_element(By.ID, "login-error").is_displayed()
    assert at(browser, "/login")
    login(browser, web)
    assert at(browser, "/users")
    assert "Jürgen Müller" in browser.find_element(By.ID, "users").text
    go(browser, "logout")
    assert at(browser, "/login")
    browser.get(web + "/users")
    assert at(browser, "/login")  # the session is gone


def test_list_search_sort_and_language_switch(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web)
    browser.find_element(By.ID, "q").send_keys("+49 (8142) 4799-123")
    go(browser, "search")
    rows = browser.find_elements(By.CSS_SELECTOR, "#users tbody tr")
    assert rows[0].text.startswith("Jürgen Müller")
    assert len(rows) == 1
    browser.get(web + "/users")
    go(browser, "sort-displayName")  # sorted already: now descending
    names = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#users td:first-child")]
    assert names == sorted(names, key=str.casefold, reverse=True)
    go(browser, "lang-de")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    )
    assert browser.find_element(By.TAG_NAME, "h1").text == "Benutzer"
    browser.get(web + "/users/new")  # remembered on the next page
    assert browser.find_element(By.TAG_NAME, "h1").text == "Neuer Benutzer"
    go(browser, "lang-en")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    )
    assert browser.find_element(By.TAG_NAME, "h1").text == "New user"


def test_new_user_form_errors_preview_create_and_delete(
    browser: webdriver.Chrome, web: str
) -> None:
    login(browser, web)
    browser.get(web + "/users/new")
    browser.find_element(By.ID, "given_name").send_keys("Renée")
    browser.execute_script("document.getElementById('surname').removeAttribute('required')")
    go(browser, "create")
    assert browser.find_element(By.ID, "error-surname").text == "This field is required."
    browser.find_element(By.ID, "surname").send_keys("Öztürk")
    browser.find_element(By.ID, "mail").send_keys("renee.oeztuerk@example.com")
    go(browser, "preview-button")
    assert browser.find_element(By.ID, "preview-uid").text == "roeztuerk"
    assert browser.find_element(By.ID, "preview-display-name").text == "Renée Öztürk"
    go(browser, "create")
    assert browser.find_element(By.ID, "user-name").text == "Renée Öztürk"
    assert browser.find_element(By.ID, "done").is_displayed()
    go(browser, "delete")
    assert "Renée Öztürk" in browser.find_element(By.ID, "question").text
    go(browser, "confirm-delete")
    assert browser.find_element(By.ID, "done").is_displayed()
    browser.get(web + "/users?q=Öztürk")
    assert browser.find_element(By.ID, "none").is_displayed()


def test_settings_grouped_with_an_error_by_its_field(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web)
    browser.get(web + "/users/sbaeuerle")
    legends = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "form.settings legend")]
    assert legends == ["General", "Fax", "SMS", "Voice mailbox", "Message waiting indication",
                       "Daily limits"]  # fmt: skip
    limit = browser.find_element(By.ID, "ixiFaxDailyLimitMode")
    limit.clear()
    limit.send_keys("sometimes")
    go(browser, "save")
    assert "ixiFaxDailyLimitMode" in browser.find_element(By.ID, "error-ixiFaxDailyLimitMode").text
    limit = browser.find_element(By.ID, "ixiFaxDailyLimitMode")
    limit.clear()
    limit.send_keys("infinite")
    go(browser, "save")
    assert browser.find_element(By.ID, "done").is_displayed()
    value = browser.find_element(By.ID, "ixiFaxDailyLimitMode").get_attribute("value")
    assert value == "infinite"


def test_a_forged_csrf_token_is_refused(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web)
    browser.get(web + "/users/sbaeuerle")
    browser.execute_script(
        "document.querySelector('form.settings input[name=csrf]').value = 'forged'"
    )
    go(browser, "save")
    assert browser.find_element(By.ID, "refused").is_displayed()


def test_voicemail_reset_with_a_new_pin(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web)
    browser.get(web + "/users/lschaefer")
    browser.find_element(By.ID, "reset-new-pin").click()  # the label's radio button
    go(browser, "reset")
    pin = browser.find_element(By.ID, "new-pin").text
    assert pin.isdigit()
    browser.back()  # the PIN is not kept anywhere a reload would show it
    browser.get(web + "/users/lschaefer")
    assert pin not in browser.page_source


def test_site_settings_page(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web)
    go(browser, "nav-settings")
    zone = browser.find_element(By.ID, "ixiDailyLimitTimeZone")
    assert zone.get_attribute("value") == "Europe/Berlin"
    zone.clear()
    zone.send_keys("Mars/Olympus_Mons")
    go(browser, "save")
    assert (
        "ixiDailyLimitTimeZone" in browser.find_element(By.ID, "error-ixiDailyLimitTimeZone").text
    )
    zone = browser.find_element(By.ID, "ixiDailyLimitTimeZone")
    zone.clear()
    zone.send_keys("Europe/Vienna")
    go(browser, "save")
    assert browser.find_element(By.ID, "done").is_displayed()
    assert browser.find_element(By.ID, "ixiDailyLimitTimeZone").get_attribute("value") == (
        "Europe/Vienna"
    )


def test_import_with_a_dry_run_first(browser: webdriver.Chrome, web: str, tmp_path: Path) -> None:
    login(browser, web)
    ldif = tmp_path / "one.ldif"
    ldif.write_text(
        "dn: uid=import1,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\n"
        "uid: import1\ncn: import1\nsn: Eins\ndisplayName: Ingrid Import\n"
    )
    go(browser, "nav-transfer")
    browser.find_element(By.ID, "file").send_keys(str(ldif))
    go(browser, "dry-run")
    assert "dry run" in browser.find_element(By.ID, "output").text
    go(browser, "import-now")
    assert "imported 1 entries" in browser.find_element(By.ID, "output").text
    WebDriverWait(browser, WAIT_SECONDS).until(lambda b: _shows(b, web + "/users?q=Ingrid"))


def _shows(browser: webdriver.Chrome, url: str) -> bool:
    """Load `url` again until the imported user is there (the follower applies the import)."""
    browser.get(url)
    return "Ingrid Import" in browser.page_source


def test_new_user_names_are_previewed_as_you_type(browser: webdriver.Chrome, web: str) -> None:
    login(browser, web)
    browser.get(web + "/users/new")
    browser.find_element(By.ID, "given_name").send_keys("Jürgen")
    browser.find_element(By.ID, "surname").send_keys("Müller")
    preview = browser.find_element(By.ID, "preview-uid")
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: preview.text == "jmueller2")
    assert browser.find_element(By.ID, "preview-display-name").text == "Jürgen Müller"
    assert browser.current_url.endswith("/users/new")  # nothing was submitted
