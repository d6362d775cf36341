"""Debian's Chromium driven headless by Selenium for the console's browser tests (nothing is downloaded)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("TOUCHLINE_TEST_ARTIFACTS", "test-artifacts")) / "console"


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (None: they can). `make test` installs the packages when missing."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.exists() or shutil.which(path.name)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


@contextmanager
def chromium(language: str = "en-US,en") -> Iterator[WebDriver]:
    """A fresh headless Chromium (own profile, no cookies) whose Accept-Language is `language`."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1100", f"--lang={language.split(',')[0]}"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver_path = str(CHROMEDRIVER if CHROMEDRIVER.exists() else shutil.which("chromedriver"))
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the page as a test artefact (test-artifacts/console/<name>.png, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
