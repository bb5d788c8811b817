"""The dashboard page in headless Chromium, over the engine's HTTP server on a virtual clock.

A ticket sent through ``POST /api/commands`` appears on the SLA board; when the virtual clock
passes its due time, the change stream tells the page (the o365 plan promises no automatic
escalation: the breach is shown for a person to act on), and the card moves to the breached
column. A screenshot lands in ``test-artifacts/``.

Chromium and ChromeDriver are Debian's (``/usr/bin/chromium``, ``/usr/bin/chromedriver``); the
session fixture installs them with apt-get when they are missing (CI runs as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tickets.application.clock import VirtualClock
from tickets.config import load_settings
from tickets.domain.scope import EVERY_DESK
from tickets.engine import build_engine, run_engine
from tickets.http import HttpHandle, serve_engine
from tickets.http.tokens import TokenStore
from tickets.projections.readstore import ReadStore

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1500")


@pytest.fixture(scope="session")
def chromium() -> tuple[Path, Path]:
    """Debian's Chromium and its driver, installed on first use on a fresh machine."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return CHROMIUM, CHROMEDRIVER
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, timeout=600, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                   check=True, env=env, timeout=900, capture_output=True)
    return CHROMIUM, CHROMEDRIVER


@dataclass
class Running:
    url: str
    clock: VirtualClock
    tokens: dict[str, str]

    def command(self, message: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/api/commands", json=message, timeout=10,
                              headers={"Authorization": f"Bearer {self.tokens['service']}"})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Running]:
    """``tickets run`` in a thread: the feed, the scheduler and the HTTP server on a free port."""
    settings = load_settings({"TICKETS_HOME": str(tmp_path / "home")})
    clock = VirtualClock(START)
    store = ReadStore(settings.read_model_url)
    tokens = {role: TokenStore(store).create(f"{role}-e2e", role, EVERY_DESK)
              for role in ("service", "dashboard")}
    store.close()
    the_engine = build_engine(settings, clock, poll_interval=0.05, log_batches=False)
    handle: HttpHandle = serve_engine(the_engine, "127.0.0.1", 0)
    stop = threading.Event()
    thread = threading.Thread(target=run_engine, args=(settings, stop, clock),
                              kwargs={"poll": 0.05, "engine": the_engine}, daemon=True)
    thread.start()
    try:
        yield Running(handle.url, clock, tokens)
    finally:
        handle.stop()
        stop.set()
        thread.join(30)


@pytest.fixture
def browser(chromium: tuple[Path, Path], tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium[0])
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(chromium[1])), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _open(desk: str, role: str, severity: str, title: str, n: int) -> dict[str, Any]:
    return {"type": "open", "command_id": f"e2e-open-{n}", "desk": desk, "requester": f"c-{n}",
            "requester_role": role, "title": title, "severity": severity,
            "fields": {"contact_email": "pat@example.org", "product": "mail"}}


def test_a_ticket_appears_and_moves_to_breached_when_the_clock_passes_its_due_time(
    engine: Running, browser: Any
) -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

    def click(css: str) -> None:
        """Click what the selector finds, again if a refresh redrew it in between."""
        wait.until(lambda driver: driver.find_element(By.CSS_SELECTOR, css).click() or True)

    browser.get(f"{engine.url}/?token={engine.tokens['dashboard']}")
    wait.until(seen.text_to_be_present_in_element((By.ID, "live"), "live"))
    assert "token=" not in browser.current_url  # the token left the address bar

    urgent = engine.command(_open("o365", "admin", "A", "Mail is down for the whole office", 1))
    office = engine.command(_open("nl-vendor", "user", "normal", "Payroll export stops at 80 %", 2))
    soon = engine.command({**_open("o365", "admin", "B", "Calendar sharing fails", 3),
                           "plan": "elevated"})  # 2 hours: at risk from 10:30
    number = urgent["ticket_number"]
    running = f"#col-running [data-number='{number}']"
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, running)))
    click(running)
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#timeline-svg")))

    engine.clock.advance(timedelta(minutes=75))  # due at 10:00: now 10:15, breached
    breached = f"#col-breached [data-number='{number}']"
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, breached)))
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#timeline-svg .breach-marker")))
    wait.until(seen.presence_of_element_located(
        (By.CSS_SELECTOR, f"#queues li.breached[data-number='{number}']")))
    assert not browser.find_elements(By.CSS_SELECTOR, running)
    assert "***" in browser.find_element(By.ID, "detail-fields").text  # a dashboard sees no e-mail

    engine.clock.advance(timedelta(minutes=25))  # 10:40: the 2-hour ticket is at risk
    wait.until(seen.presence_of_element_located(
        (By.CSS_SELECTOR, f"#col-at_risk [data-number='{soon['ticket_number']}']")))
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

    click(f"#col-running [data-number='{office['ticket_number']}']")
    wait.until(seen.text_to_be_present_in_element((By.ID, "detail-title"), office["ticket_number"]))
    wait.until(lambda driver: any(  # one working day: the evening and night ahead are shaded
        "outside hours" in span.get_attribute("textContent")
        for span in driver.find_elements(By.CSS_SELECTOR, "#timeline-svg rect.span")))
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard-business-hours.png"))
