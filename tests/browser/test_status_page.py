"""The status page through a real browser, as a ward clerk would open it on the hospital
network without signing in: on a phone and at a desk, while the EHR is down.

A second `careline serve` runs over the shared test database with CARELINE_STATUS_PUBLIC on
(the session's server keeps the default, off); the browser connects from 127.0.0.1, inside
the default hospital networks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    REPO,
    Server,
    _stop,
    _wait_healthy,
)
from tests.browser.people import no_horizontal_scroll
from tests.processes import free_port

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
PHONE = {
    "viewport": {"width": 375, "height": 812},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
OUTAGE = "EHR unavailable: storage failure in the data centre"
UPDATE = "Storage vendor on site; read-only EHR open on the downtime PCs."
NOTICE = "Clinical Wi-Fi slow on level 3"
PLANNED = "PACS archive migration"


@dataclass(frozen=True)
class Public:
    url: str
    token: str
    downtime_id: int


def _env(server: Server, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CARELINE_SQLITE_PATH", "CARELINE_BASE_URL")
    }
    env.update(
        CARELINE_DATA_DIR=str(server.data_dir),
        DJANGO_SETTINGS_MODULE="careline.settings",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _api(base: str, token: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310  (the test's own server)
        f"{base}/api/v1{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.fixture(scope="module")
def public(careline_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Public]:
    """A public status page with the EHR in downtime (an update posted) and a notice from IT;
    the downtime is ended and the notice taken down afterwards, for the tests that follow."""
    token = (
        subprocess.run(
            [sys.executable, "-m", "careline.cli", "token", "create", "--user", "agent"],
            env=_env(careline_server),
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    log = tmp_path_factory.mktemp("status-public") / "server.log"
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
            env=_env(careline_server, CARELINE_STATUS_PUBLIC="1", CARELINE_PORT=str(port)),
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    event: dict[str, Any] = {}
    planned: dict[str, Any] = {}
    notice: dict[str, Any] = {}
    try:
        _wait_healthy(url, process, log)
        event = _api(
            url,
            token,
            "/downtime",
            {"title": OUTAGE, "kind": "unplanned", "services": ["EHR"], "read_only_access": True},
        )
        _api(url, token, f"/downtime/{event['id']}/updates", {"text": UPDATE})
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        planned = _api(
            url,
            token,
            "/downtime",
            {
                "title": PLANNED,
                "kind": "planned",
                "services": ["PACS"],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
            },
        )
        notice = _api(
            url,
            token,
            "/status/notices",
            {
                "title": NOTICE,
                "text": "Carts may drop off; use the wired PCs.",
                "severity": "warning",
                "services": ["WIFI"],
            },
        )
        yield Public(url, token, event["id"])
    finally:
        if event:
            _api(url, token, f"/downtime/{event['id']}/end")
        if planned:
            _api(url, token, f"/downtime/{planned['id']}/cancel", {"reason": "Test over."})
        if notice:
            _api(url, token, f"/status/notices/{notice['id']}/end")
        _stop(process)


def _open(browser: Browser, public: Public, **options: Any) -> Page:
    context = browser.new_context(base_url=public.url, **options)
    context.set_default_timeout(10_000)
    return context.new_page()


def _reads_the_outage(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Service status")
    expect(page.locator("#status-headline")).to_have_text("Downtime procedures are active")
    downtime = page.get_by_role("region", name="Downtime in force")
    expect(downtime).to_contain_text(OUTAGE)
    expect(downtime).to_contain_text("Read-only access is open.")
    expect(downtime.get_by_role("list", name="Updates on")).to_contain_text(UPDATE)
    ehr = page.locator('li.service[data-service="EHR"]')
    expect(ehr).to_have_attribute("data-state", "downtime")
    expect(ehr).to_contain_text("Downtime procedures are active")
    expect(page.get_by_role("region", name="Notices from IT")).to_contain_text(NOTICE)
    planned = page.get_by_role("region", name="Planned work")
    expect(planned).to_contain_text(PLANNED)
    expect(planned).to_contain_text("unavailable throughout: downtime procedures apply")
    # Nobody signed in: no menu, no links into the signed-in pages.
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(downtime.get_by_role("link", name="procedures and details")).to_have_count(0)


def test_a_ward_clerk_reads_the_status_on_a_phone_without_signing_in(
    browser: Browser, public: Public, shot: Shot
) -> None:
    page = _open(browser, public, **PHONE)
    page.goto("/login/")
    page.get_by_role("link", name="Service status").click()
    expect(page).to_have_url(f"{public.url}/status/")
    _reads_the_outage(page)
    no_horizontal_scroll(page)
    shot(page, "phone")
    page.context.close()


def test_the_status_page_at_a_desk_refreshes_in_place(
    browser: Browser, public: Public, shot: Shot
) -> None:
    page = _open(browser, public, **DESKTOP)
    page.goto("/status/")
    _reads_the_outage(page)
    expect(page.locator("#status-body")).to_have_attribute("hx-trigger", "every 60s")
    shot(page, "desktop")
    # IT posts another notice; the page's own refresh (the request its timer makes) swaps it in
    # without reloading the page.
    page.evaluate("() => { window.__not_reloaded = true; }")
    extra = _api(
        public.url,
        public.token,
        "/status/notices",
        {"title": "Dictation back to normal", "severity": "info"},
    )
    try:
        page.evaluate(
            "() => htmx.ajax('GET', '/status/', {target: '#status-body', swap: 'outerHTML'})"
        )
        expect(page.get_by_role("region", name="Notices from IT")).to_contain_text(
            "Dictation back to normal"
        )
        assert page.evaluate("() => window.__not_reloaded === true")
        expect(page.locator("#status-body")).to_have_attribute("hx-trigger", "every 60s")
        shot(page, "refreshed")
    finally:
        _api(public.url, public.token, f"/status/notices/{extra['id']}/end")
    page.context.close()


def test_the_private_status_page_asks_for_sign_in(page: Page) -> None:
    """The session's own server keeps the default: not public."""
    page.goto("/status/")
    expect(page).to_have_url(f"{page.url.split('/login/')[0]}/login/?next=/status/")
    expect(page.get_by_role("link", name="Service status")).to_have_count(0)
