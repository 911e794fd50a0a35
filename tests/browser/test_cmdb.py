"""The CMDB through a real browser: an engineer at a desk finds the hypervisor under the EHR
database and reads who is hurt if it fails; the same page on a phone does not scroll sideways."""

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


def _open_hypervisor(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="CMDB").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Configuration items")
    page.get_by_label("Type").select_option("server")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="NG-ESX-01")).to_be_visible()
    expect(page.get_by_role("link", name="EHR-APP-VM1")).to_have_count(0)
    page.get_by_role("link", name="NG-ESX-01").click()
    expect(page).to_have_url(re.compile(r"/cmdb/items/\d+/$"))


def _check_impact(page: Page) -> None:
    impact = page.locator("#impact")
    expect(impact.get_by_role("heading", level=2)).to_have_text("If NG-ESX-01 fails")
    expect(impact.locator(".priority-sentence")).to_contain_text("Care blocked, scope enterprise")
    graph = impact.locator(".impact-graph")
    # The tree: the database node VM under the host, the database under it, the EHR under that.
    expect(graph.get_by_role("link", name="EHR-DB-N1")).to_be_visible()
    expect(graph.get_by_role("link", name="EHR-DB", exact=True)).to_be_visible()
    expect(graph.get_by_role("link", name="EHR", exact=True)).to_be_visible()
    # EHR sits below the database node in the tree: the path of the failure is visible.
    nested = graph.locator("li:has(> a:text-is('EHR-DB-N1')) li:has(> a:text-is('EHR'))")
    expect(nested).to_have_count(1)
    departments = impact.locator(".impact-departments")
    expect(departments).to_contain_text("Emergency Department")
    expect(departments).to_contain_text("Riverside Emergency")


def test_engineer_reads_a_hypervisors_clinical_impact_at_a_desk(
    page: Page, careline_server: Server, shot: Shot
) -> None:
    sign_in_with_code(page, careline_server, "engineer")
    _open_hypervisor(page)
    _check_impact(page)
    shot(page, "item")
    page.get_by_role("link", name="Vendors").click()
    page.get_by_role("link", name="LabLink Integration").click()
    expect(page.locator(".lead")).to_contain_text("No active Business Associate Agreement")
    shot(page, "vendor")


def test_the_item_page_and_its_impact_fit_a_phone(
    phone_page: Page, careline_server: Server, shot: Shot
) -> None:
    page = phone_page
    sign_in_with_code(page, careline_server, "manager")
    page.goto("/cmdb/?item_type=server")
    page.get_by_role("link", name="NG-ESX-01").click()
    _check_impact(page)
    no_horizontal_scroll(page)
    shot(page, "item")
    page.goto("/cmdb/reports/constrained-devices/")
    expect(page.get_by_role("link", name="ICU infusion pump 7")).to_be_visible()
    no_horizontal_scroll(page)
