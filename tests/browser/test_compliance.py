"""The access review through a real browser: the auditor at a desk finds every account and
token, narrows it to one role and downloads it as CSV; the IT manager reads it on a phone
without the page scrolling sideways."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NEW_AGENT, Server
from tests.browser.people import no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def _accounts(page: Page) -> list[str]:
    table = page.get_by_role("region", name="Accounts").get_by_role("table")
    return [cells.split("\t")[0].strip() for cells in table.locator("tbody tr").all_inner_texts()]


def test_the_auditor_reviews_access_and_downloads_it_at_a_desk(
    page: Page, careline_server: Server, shot: Shot, tmp_path: Path
) -> None:
    sign_in_with_code(page, careline_server, "auditor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance reports")
    page.get_by_role("link", name="Access review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access review")

    accounts = _accounts(page)
    # Every demo account, and the agent created without ever signing in.
    assert {"auditor", "manager", "engineer", NEW_AGENT} <= set(accounts)
    assert accounts == sorted(accounts)
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("dormant account")
    shot(page, "review")

    page.get_by_label("Role").select_option("agent")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/reports/compliance/access-review/\?role=agent"))
    assert "auditor" not in _accounts(page)
    assert NEW_AGENT in _accounts(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV: Accounts").click()
    saved = tmp_path / "accounts.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["role"] for r in rows} == {"Service-desk agent"}
    assert NEW_AGENT in {r["username"] for r in rows}
    assert next(r for r in rows if r["username"] == NEW_AGENT)["last_sign_in"] == ""


def test_the_access_review_fits_a_phone(
    phone_page: Page, careline_server: Server, shot: Shot
) -> None:
    page = phone_page
    sign_in_with_code(page, careline_server, "manager")
    page.goto("/reports/compliance/access-review/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Access review")
    expect(page.get_by_role("link", name="PDF")).to_be_visible()
    assert "manager" in _accounts(page)
    no_horizontal_scroll(page)
    shot(page, "review")
