"""On call through a real browser: a nurse's P1 from her phone wakes the engineer on call, who
acknowledges from the link in his text without signing in, at phone width; then, at his desk,
he sees who is on call and the page with everyone it told.

A tampered link, opened the same way, is refused.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.people import enter_password, no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
TITLE = "Whole ED cannot open the EHR"


def _text_to_engineer(server: Server) -> tuple[int, str]:
    """The page id and acknowledgement link of the newest text CareLine wrote to the engineer."""
    with closing(sqlite3.connect(server.data_dir / "careline.sqlite3")) as db:
        row = db.execute(
            "SELECT n.page_id, n.body FROM oncall_notification n JOIN core_user u "
            "ON u.id = n.recipient_id WHERE u.username = 'engineer' AND n.channel = 'sms' "
            "ORDER BY n.id DESC LIMIT 1"
        ).fetchone()
    assert row is not None, "nobody texted the engineer"
    link = re.search(r"https?://\S+/oncall/ack/\S+/", row[1])
    assert link is not None, row[1]
    return int(row[0]), link.group(0)


def _report_p1(page: Page) -> None:
    enter_password(page, "nurse.ed")
    page.goto("/report/")
    page.get_by_label("What is affected?").select_option(label="Electronic health record")
    page.get_by_label("What's wrong?").fill(TITLE)
    page.get_by_label("Care cannot be given as normal").check()
    page.get_by_label("My department").check()
    page.get_by_role("button", name="Send to IT").click()
    expect(page.locator(".priority-sentence")).to_contain_text("P1")


def test_the_engineer_acknowledges_a_p1_from_the_text_on_his_phone(
    new_page: Callable[..., Page], phone_page: Page, careline_server: Server, shot: Shot
) -> None:
    _report_p1(new_page(viewport={"width": 390, "height": 844}))
    page_id, link = _text_to_engineer(careline_server)

    # Nobody is signed in on the phone: the signed link is the credential.
    phone = phone_page
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(phone.locator("#page-status")).to_contain_text("Triggered")
    no_horizontal_scroll(phone)
    shot(phone, "link")
    phone.get_by_role("button", name="Acknowledge as Sam Okafor").click()
    expect(phone.get_by_role("status")).to_contain_text("Escalation has stopped")
    expect(phone.locator("#page-status")).to_contain_text("Acknowledged by engineer")
    no_horizontal_scroll(phone)
    shot(phone, "acknowledged")

    # A link altered by one character is refused, and says so.
    phone.goto(link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:])
    expect(phone.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
    expect(phone.get_by_role("alert")).to_contain_text("not valid")

    # At his desk: who is on call, and the page with everyone it told.
    desk = new_page(viewport={"width": 1280, "height": 800})
    sign_in_with_code(desk, careline_server, "engineer")
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="On call").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Who is on call now")
    expect(desk.locator('[data-schedule="IT-ONCALL"] .oncall-person')).to_contain_text(
        re.compile(r"Sam Okafor|Helen Carter")
    )
    shot(desk, "who-is-on-call")
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Pages").click()
    desk.locator(f'tr[data-page="{page_id}"] a').click()
    expect(desk.locator("#page-status")).to_contain_text("Acknowledged by engineer")
    told = desk.get_by_role("table")
    expect(told).to_contain_text("SMS")
    expect(
        desk.get_by_role("list").filter(has_text="acknowledged by engineer via link")
    ).to_be_visible()
    shot(desk, "page")
