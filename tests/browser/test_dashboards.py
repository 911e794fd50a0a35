"""The dashboards through a real browser, over the demo hospital: the IT manager at a desk
opens Reports from the menu, reads every dashboard (charts beside their tables), narrows one
to a site and a preset period and downloads a table as CSV and the dashboard as PDF; an
agent reads every dashboard on a phone without the page scrolling sideways. Each page is
kept as a screenshot at both widths."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from careline.reports.dashboards import catalog
from tests.browser.conftest import Server
from tests.browser.people import enter_password, no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def _read_every_dashboard(page: Page, shot: Shot) -> None:
    for kind in catalog.DASHBOARDS.values():
        page.goto(f"/reports/{kind.name}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(kind.title)
        expect(page.get_by_role("link", name="PDF")).to_be_visible()
        # Every table has its CSV link; charted tables have their chart.
        first = page.locator("section.dashboard-section").first
        expect(first.get_by_role("table")).to_be_visible()
        expect(first.get_by_role("link", name=re.compile(r"^CSV: "))).to_be_visible()
        assert page.locator("figure.chart svg").count() >= 1
        shot(page, kind.name)


def test_the_manager_reads_the_dashboards_at_a_desk(
    page: Page, careline_server: Server, shot: Shot, tmp_path: Path
) -> None:
    sign_in_with_code(page, careline_server, "manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    shot(page, "index")
    page.get_by_role("link", name="Ticket volume").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ticket volume")

    page.get_by_label("Site").select_option("NORTH")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/reports/volume/\?site=NORTH"))
    page.get_by_role("link", name="90 days").click()
    expect(page).to_have_url(re.compile(r"days=90&site=NORTH"))
    expect(page.get_by_text("Period:")).to_contain_text("(90 days)")
    shot(page, "volume-north-90-days")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV: By department").click()
    saved = tmp_path / "departments.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["department", "name", "site", "tickets", "still_open"]
    # Only Northgate's departments: the site filter went into the export.
    assert {r["site"] for r in rows} <= {"NORTH"}

    with page.expect_download() as pdf:
        page.get_by_role("link", name="PDF").click()
    printed = tmp_path / "volume.pdf"
    pdf.value.save_as(printed)
    assert printed.read_bytes().startswith(b"%PDF")

    _read_every_dashboard(page, shot)


def test_an_agent_reads_the_dashboards_on_a_phone(
    phone_page: Page, careline_server: Server, shot: Shot
) -> None:
    page = phone_page
    sign_in_with_code(page, careline_server, "agent")
    page.goto("/reports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    no_horizontal_scroll(page)
    shot(page, "index")
    _read_every_dashboard(page, shot)
    no_horizontal_scroll(page)


def test_a_ward_nurse_is_not_shown_the_dashboards(page: Page, careline_server: Server) -> None:
    # A requester signs in with a password alone.
    enter_password(page, "nurse.ed")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(nav.get_by_role("link", name="Reports")).to_have_count(0)
    answer = page.goto("/reports/sla/")
    assert answer is not None
    assert answer.status == 403
