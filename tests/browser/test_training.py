"""Training through a real browser: a ward clerk registers from his phone, a nurse at a desk
opens a session with its reading list and registers there, and the IT manager sees her on
the roster and who is trained on what. Every page is opened at phone and desktop width, and
screenshots are kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.people import enter_password, no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
PHONE_375 = {
    "viewport": {"width": 375, "height": 812},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
BCMA = "Barcode medication administration at the bedside"
EHR = "EHR essentials for new starters"


def test_a_ward_clerk_registers_from_his_phone(new_page: Callable[..., Page], shot: Shot) -> None:
    phone = new_page(**PHONE_375)
    enter_password(phone, "clerk.w4")
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Training").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Training")
    card = phone.locator(".training-session", has_text=BCMA)
    expect(card.locator(".training-when")).to_contain_text(re.compile(r"14:00-16:00 E[SD]T"))
    expect(card).to_contain_text("8 of 8 places left")
    no_horizontal_scroll(phone)
    shot(phone, "phone-list")

    card.get_by_role("button", name=f"Register for {BCMA}").click()
    card = phone.locator(".training-session", has_text=BCMA)
    expect(card.locator(".training-mine")).to_have_text("You have a place.")
    expect(card).to_contain_text("7 of 8 places left")
    no_horizontal_scroll(phone)
    shot(phone, "phone-registered")

    # His record, from last week's refresher, is at the foot of the page.
    expect(phone.locator(".training-record")).to_contain_text("EHR charting refresher")

    phone.locator(".training-session", has_text=BCMA).get_by_role("link", name=BCMA).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(BCMA)
    expect(phone.locator("#my-place")).to_contain_text("You have a place")
    expect(phone.locator("#articles li").first).to_be_visible()
    no_horizontal_scroll(phone)
    shot(phone, "phone-session")


def test_a_nurse_registers_at_her_desk_and_the_manager_sees_the_roster(
    new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    desk = new_page(**DESKTOP)
    enter_password(desk, "nurse.ed")
    desk.goto("/training/")
    expect(desk.get_by_role("heading", level=2, name="Upcoming sessions")).to_be_visible()
    shot(desk, "desk-list")
    desk.locator(".training-session", has_text=EHR).get_by_role("link", name=EHR).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(EHR)
    # The articles written for staff on the EHR, to read before coming.
    articles = desk.locator("#articles li a")
    expect(articles.first).to_be_visible()
    assert articles.count() >= 3
    desk.get_by_role("button", name="Register").click()
    expect(desk.locator("#my-place")).to_contain_text("You have a place")
    expect(desk.locator("#session-places")).to_contain_text("1 of 12 taken")
    expect(desk.locator("#roster")).to_have_count(0)  # a nurse does not see the roster
    shot(desk, "desk-registered")

    manager = new_page(**DESKTOP)
    sign_in_with_code(manager, careline_server, "manager")
    manager.goto(desk.url)
    row = manager.locator('#roster tr[data-user="nurse.ed"]')
    expect(row).to_contain_text("Maria Lopez")
    expect(row).to_contain_text("Registered")
    shot(manager, "desk-roster")

    manager.goto("/training/trained/")
    expect(manager.get_by_role("heading", level=1)).to_have_text("Who is trained on what")
    matrix = manager.locator("#trained-matrix")
    expect(matrix.locator('tr[data-user="clerk.w4"]')).to_contain_text("✔")
    expect(matrix.locator('tr[data-user="nurse.ed"]')).to_contain_text("✔")
    shot(manager, "desk-trained")

    phone = new_page(**PHONE_375)
    sign_in_with_code(phone, careline_server, "manager")
    phone.goto("/training/trained/")
    expect(phone.locator("#trained-matrix")).to_be_visible()
    no_horizontal_scroll(phone)
    shot(phone, "phone-trained")
