"""Browser tests: the real `careline serve` in a subprocess, driven by the system's Chromium.

No pytest-django live_server here: the audit table refuses DELETE/TRUNCATE, so a database
flush between tests cannot work. Instead one server runs for the whole session against a
throwaway SQLite data directory loaded with the demo hospital, and every test signs in
with its own fresh browser context.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from careline.core.demo import DEMO_PASSWORD
from tests.processes import free_port

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
STARTUP_TIMEOUT_S = 30
STOP_GRACE_S = 10
NEW_AGENT = "newagent"

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Variables that would point the server somewhere other than its throwaway data directory.
_SERVER_ENV_DROP = (
    "DATABASE_URL",
    "CARELINE_SQLITE_PATH",
    "CARELINE_HOST",
    "CARELINE_BASE_URL",
    "CARELINE_CSRF_TRUSTED_ORIGINS",
)


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    log: Path


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The Chromium to drive: CARELINE_CHROMIUM, else /usr/bin/chromium, else skip (or fail)."""
    configured = os.environ.get("CARELINE_CHROMIUM", "")
    if configured:
        if not os.access(configured, os.X_OK):
            pytest.fail(f"CARELINE_CHROMIUM={configured} is not an executable file")
        return configured
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    reason = f"Chromium not found: CARELINE_CHROMIUM is unset and {DEFAULT_CHROMIUM} does not exist"
    if os.environ.get("CARELINE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium is required (CARELINE_REQUIRE_BROWSER=1). {reason}")
    pytest.skip(reason)


def _careline(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    """Run a `careline` subcommand to completion; fail the session with its output if it fails."""
    command = [sys.executable, "-m", "careline.cli", *args]
    done = subprocess.run(
        command, env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        pytest.fail(
            f"`careline {' '.join(args)}` exited with {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"careline serve exited with {process.returncode} before answering /healthz:\n"
                + _tail(log)
            )
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.1)
    pytest.fail(
        f"careline serve did not answer GET /healthz with 200 within {STARTUP_TIMEOUT_S} s "
        f"(last: {last_error}):\n" + _tail(log)
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        # The server runs in its own session, so its group id is its pid: this reaches the
        # web workers it started as well, and nothing else.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def careline_server(
    chromium_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`careline serve` on a free port, over a fresh SQLite database with the demo hospital.

    Depends on chromium_executable so that a missing browser skips before anything starts.
    """
    root = tmp_path_factory.mktemp("careline-browser")
    data_dir = root / "data"
    data_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROP}
    env.update(
        CARELINE_DATA_DIR=str(data_dir),
        CARELINE_PORT=str(port),
        DJANGO_SETTINGS_MODULE="careline.settings",
        PYTHONUNBUFFERED="1",
    )
    _careline(env, "demo")
    _careline(
        env,
        "createuser",
        NEW_AGENT,
        "--role",
        "agent",
        "--department",
        "NG-IT",
        "--password-stdin",
        stdin=DEMO_PASSWORD + "\n",
    )
    log = root / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "careline.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--threads",
                "4",
            ],
            env=env,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield Server(url=url, data_dir=data_dir, log=log)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Browser, careline_server: Server) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh context (no cookies) against the server; closed after the test."""
    contexts: list[BrowserContext] = []

    def open_page(**options: Any) -> Page:
        context = browser.new_context(base_url=careline_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop-width (1280x800) page."""
    return new_page(**DESKTOP)


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    """A phone-width (390x844) touch page."""
    return new_page(**PHONE)


@pytest.fixture(scope="session")
def _screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shot(request: pytest.FixtureRequest, _screenshot_dir: Path) -> Callable[[Page, str], Path]:
    """shot(page, "step") saves tests/browser/screenshots/<test-name>-<step>.png."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for old in _screenshot_dir.glob(f"{test_name}-*.png"):
        old.unlink()

    def take(target: Page, step: str) -> Path:
        path = _screenshot_dir / f"{test_name}-{step}.png"
        target.screenshot(path=str(path), full_page=True)
        return path

    return take
