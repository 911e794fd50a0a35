"""The morning check and the handover through a real browser: Priya reads the check at her
desk and marks it reviewed with a note; at the end of her shift she reads the handover on
her phone and leaves a note for the night shift. Screenshots of each step are kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Server
from tests.browser.people import enter_password, no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
SECTIONS = [
    "Review",
    "Clinical services",
    "Monitors down or degraded",
    "Backups against their RPO",
    "Overnight incidents and P1/P2",
    "SLA breaches",
    "Expiring within 30 days",
    "Changes scheduled today",
    "On call",
]


def _reads_the_check(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Morning check")
    expect(page.locator(".lead").first).to_contain_text("Northgate Medical Center")
    for name in SECTIONS:
        expect(page.get_by_role("region", name=name)).to_be_visible()
    services = page.get_by_role("region", name="Clinical services")
    expect(services.locator('li[data-service="EHR"]')).to_be_visible()


def test_the_agent_reviews_the_morning_check_at_her_desk(
    new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    page = new_page(**DESKTOP)
    sign_in_with_code(page, careline_server, "agent")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Morning check").click()
    _reads_the_check(page)
    shot(page, "desktop")
    review = page.get_by_role("region", name="Review")
    if review.get_by_role("button", name="Mark reviewed").count():
        review.get_by_label("Notes").fill("EHR and PACS checked with the night engineer.")
        review.get_by_role("button", name="Mark reviewed").click()
        expect(page.locator(".messages")).to_contain_text("marked reviewed")
    expect(page.get_by_role("region", name="Review")).to_contain_text("Reviewed by Priya")
    shot(page, "reviewed")
    page.get_by_role("link", name="Past checks and who reviewed them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Past morning checks")
    expect(page.get_by_role("table")).to_contain_text("Priya")
    shot(page, "history")


def test_the_check_and_the_handover_fit_a_phone(
    new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    phone = new_page(**PHONE)
    sign_in_with_code(phone, careline_server, "agent")
    phone.goto("/morning/")
    _reads_the_check(phone)
    no_horizontal_scroll(phone)
    shot(phone, "phone-check")
    phone.goto("/handover/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Handover")
    for name in (
        "Open tickets by priority",
        "Unresolved incidents",
        "Notes for the next shift",
        "Changes planned for the next shift",
    ):
        expect(phone.get_by_role("region", name=name)).to_be_visible()
    phone.get_by_role("textbox", name="Note").fill(
        "Lab HL7 feed flapped at 16:00; watch it overnight."
    )
    phone.get_by_role("button", name="Add note").click()
    expect(phone.locator(".messages")).to_contain_text("Note left for the next shift")
    expect(phone.get_by_role("region", name="Notes for the next shift")).to_contain_text(
        "Lab HL7 feed flapped at 16:00"
    )
    no_horizontal_scroll(phone)
    shot(phone, "phone-handover")
    # The printed form: menus and forms are left off the page.
    phone.emulate_media(media="print")
    expect(phone.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(phone.get_by_role("button", name="Add note")).to_be_hidden()
    shot(phone, "phone-handover-print")


def test_a_nurse_has_no_morning_check(new_page: Callable[..., Page]) -> None:
    page = new_page(**DESKTOP)
    enter_password(page, "nurse.ed")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Morning check")).to_have_count(0)
    answer = page.goto("/morning/")
    assert answer is not None
    assert answer.status == 403
