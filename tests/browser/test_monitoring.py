"""Monitoring through a real browser: the IT manager creates a monitor at a desk and reads
its page with its charts; the board of clinical services reads well on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.people import no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def test_manager_creates_a_monitor_and_reads_its_page(
    page: Page, careline_server: Server, shot: Shot
) -> None:
    sign_in_with_code(page, careline_server, "manager")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Monitoring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Monitoring")
    # The demo hospital's heartbeats, grouped under their clinical service.
    expect(page.get_by_role("link", name="Lab results interface job")).to_be_visible()
    expect(page.get_by_role("heading", name="Electronic health record")).to_be_visible()
    shot(page, "grid")

    page.get_by_role("link", name="New monitor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New monitor")
    page.get_by_label("Name", exact=True).fill("Core switch")
    page.get_by_label("Kind").select_option(label="TCP port")
    # Only the chosen kind's fields show.
    expect(page.locator("#config\\.tcp\\.host")).to_be_visible()
    expect(page.locator("#config\\.http\\.url")).to_be_hidden()
    page.locator("#config\\.tcp\\.host").fill("127.0.0.1")
    page.locator("#config\\.tcp\\.port").fill("99999")
    page.get_by_role("button", name="Create monitor").click()
    expect(page.get_by_role("alert")).to_contain_text("config.port")
    page.locator("#config\\.tcp\\.port").fill("9")
    page.get_by_label("Clinical service").select_option(label="Electronic health record")
    page.get_by_role("button", name="Create monitor").click()

    expect(page).to_have_url(re.compile(r"/monitoring/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Core switch")
    expect(page.locator(".monitor-status")).to_have_text("unknown")
    for alt in ("Latency over the last 24 hours", "Uptime per day"):
        chart = page.get_by_alt_text(alt)
        expect(chart).to_be_visible()
        loaded = chart.evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded, f"{alt} chart did not load"
    shot(page, "monitor")


def test_clinical_services_board_on_a_phone(
    phone_page: Page, careline_server: Server, shot: Shot
) -> None:
    page = phone_page
    sign_in_with_code(page, careline_server, "auditor")
    page.goto("/monitoring/board/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinical services")
    tile = page.locator(".tile", has_text="Electronic health record")
    expect(tile).to_be_visible()
    no_horizontal_scroll(page)
    # An auditor reads but may not create monitors.
    page.goto("/monitoring/new/")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("New monitor")
    shot(page, "board")
