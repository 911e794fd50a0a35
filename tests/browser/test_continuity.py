"""Continuity through a real browser: the desk declares a downtime, a nurse sees it on her
phone with its procedures, the desk ends it and cannot close it until the recovery checklist is
done; the engineer reads every service's recovery state on his phone and records a restore
test; the manager reads the changes and the change calendar at phone width.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.people import enter_password, no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}
TITLE = "Telehealth video unavailable"


def test_a_downtime_is_seen_on_a_phone_and_closed_only_after_recovery(
    new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    desk = new_page(viewport=DESK)
    sign_in_with_code(desk, careline_server, "agent")
    desk.goto("/downtime/new/")
    desk.get_by_label("Title").fill(TITLE)
    desk.get_by_label("Clinical services down").select_option("TELEHEALTH")
    desk.get_by_label("Read-only business-continuity access activated").check()
    desk.get_by_role("button", name="Declare").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text(TITLE)
    shot(desk, "declared")

    # The nurse, on her phone, meets the banner on the first page she opens.
    phone = new_page(viewport=PHONE)
    enter_password(phone, "nurse.ed")
    phone.goto("/downtime/")
    expect(phone.get_by_text(TITLE).first).to_be_visible()
    phone.get_by_role("link", name=TITLE).first.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(phone.get_by_role("heading", name="Downtime procedures")).to_be_visible()
    no_horizontal_scroll(phone)
    shot(phone, "nurse-phone")

    # Ended: the checklist appears, and closing waits for every item.
    desk.get_by_role("button", name="End downtime").click()
    expect(desk.get_by_role("button", name="Close", exact=True)).to_be_visible()
    items = desk.locator(".checklist button")
    assert items.count() >= 1
    desk.get_by_role("button", name="Close", exact=True).click()
    expect(desk.locator(".messages")).to_contain_text("checklist")
    while items.count():
        items.first.click()
        expect(desk.locator(".messages")).to_contain_text("Ticked.")
    expect(desk.locator(".checklist li").first).to_contain_text("✔")
    desk.get_by_role("button", name="Close", exact=True).click()
    expect(desk.get_by_text("Closed").first).to_be_visible()
    shot(desk, "closed")


def test_the_engineer_reads_recovery_and_records_a_restore_test_on_his_phone(
    new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    phone = new_page(viewport=PHONE)
    sign_in_with_code(phone, careline_server, "engineer")
    phone.goto("/recovery/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Recovery")
    pacs = phone.locator("tr", has_text="PACS")
    expect(pacs).to_contain_text("never restore-tested")
    expect(pacs).to_contain_text("never DR-drilled")
    no_horizontal_scroll(phone)
    shot(phone, "recovery-list")

    pacs.get_by_role("link", name="PACS").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("PACS")
    phone.get_by_text("Record a restore test").click()
    today = datetime.now().strftime("%Y-%m-%dT%H:%M")  # noqa: DTZ005  (the form's local time)
    phone.get_by_label("Tested at").fill(today)
    phone.get_by_label("Result").select_option("passed")
    phone.get_by_label("Minutes to restore (optional)").fill("80")
    phone.get_by_role("button", name="Record the test").click()
    expect(phone.locator(".messages")).to_contain_text("Restore test recorded.")
    expect(phone.get_by_role("heading", name="Needs attention").locator("..")).not_to_contain_text(
        "never restore-tested"
    )
    no_horizontal_scroll(phone)
    shot(phone, "restore-test-recorded")

    # A nurse has no business here.
    nurse = new_page(viewport=PHONE)
    enter_password(nurse, "nurse.ed")
    nurse.goto("/recovery/")
    expect(nurse.get_by_text("recovery.view")).to_be_visible()


def test_the_manager_reads_changes_and_the_calendar_at_phone_width(
    new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    phone = new_page(viewport=PHONE)
    sign_in_with_code(phone, careline_server, "manager")
    phone.goto("/changes/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Changes")
    no_horizontal_scroll(phone)
    shot(phone, "changes")
    phone.goto("/changes/calendar/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Change calendar")
    no_horizontal_scroll(phone)
    shot(phone, "calendar")
