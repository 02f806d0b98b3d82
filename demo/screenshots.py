"""Screenshots of the web UI's main pages in English and German, for docs/ and the README.

Makes a throw-away data directory with the demo users, starts `ixidir serve` with the web UI
on a free port and drives Debian's headless chromium (as the browser tests do):

    .venv/bin/python demo/screenshots.py            # writes docs/screenshots/*.png
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
PASSWORD = "Adm1n-secret"  # noqa: S105 (the throw-away demo directory's)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900", "--hide-scrollbars",
)  # fmt: skip


def ixidir(data: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "ixidir", "--data", str(data), *args], check=True)  # noqa: S603


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ixidir-screens-"))
    server = None
    browser = None
    try:
        (work / "pw").write_text(PASSWORD + "\n")
        data = work / "data"
        ixidir(
            data,
            "init",
            "--base-dn",
            "dc=example,dc=com",
            "--admin-password-file",
            str(work / "pw"),
        )
        ixidir(data, "import", str(ROOT / "demo" / "users.ldif"))
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "ixidir", "--data", str(data), "serve", "--workers", "1",
             "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert server.stdout is not None  # noqa: S101
        web = ""
        for line in server.stdout:
            found = re.search(r"web on (\S+)", line)
            if found:
                web = found[1]
                break
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for flag in (*FLAGS, f"--user-data-dir={work / 'profile'}"):
            options.add_argument(flag)
        options.accept_insecure_certs = True
        service = Service(executable_path=shutil.which("chromedriver") or "chromedriver")
        browser = webdriver.Chrome(options=options, service=service)
        browser.implicitly_wait(10)
        OUT.mkdir(parents=True, exist_ok=True)
        for language in ("en", "de"):
            browser.get(f"{web}/language?to={language}&next=/login")
            browser.save_screenshot(str(OUT / f"login-{language}.png"))
            browser.find_element(By.ID, "user").send_keys("admin")
            browser.find_element(By.ID, "password").send_keys(PASSWORD)
            browser.find_element(By.ID, "login").click()
            browser.find_element(By.ID, "users")
            browser.save_screenshot(str(OUT / f"users-{language}.png"))
            browser.get(f"{web}/users/jmueller")
            browser.find_element(By.ID, "user-name")
            browser.save_screenshot(str(OUT / f"user-{language}.png"))
            browser.get(f"{web}/settings")
            browser.find_element(By.ID, "ixiSiteAreaCode")
            browser.save_screenshot(str(OUT / f"settings-{language}.png"))
            browser.get(f"{web}/users/new")
            browser.find_element(By.ID, "given_name").send_keys("Jürgen")
            browser.find_element(By.ID, "surname").send_keys("Müller")
            browser.find_element(By.ID, "fax").send_keys("+49 8142 4799-123")
            browser.find_element(By.ID, "mail").send_keys("j.mueller2@example.com")
            browser.find_element(By.ID, "create").click()
            browser.find_element(By.ID, "error-fax")
            browser.save_screenshot(str(OUT / f"new-user-{language}.png"))
            browser.find_element(By.ID, "logout").click()
            browser.find_element(By.ID, "user")
        print(f"screenshots in {OUT}")  # noqa: T201
    finally:
        if browser is not None:
            browser.quit()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
