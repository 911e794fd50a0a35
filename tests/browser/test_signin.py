"""Signing in through a real browser: passwords, the TOTP second factor, enrolment, sign-out."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from careline.core.demo import DEMO_PASSWORD, demo_totp_secret
from tests.browser.conftest import Server
from tests.browser.people import last_step

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
# An agent without a second factor yet, created by conftest.careline_server.
NEW_AGENT = "newagent"
CODE_LABEL = "Six-digit code from your authenticator app"


def _path_is(path_and_query: str) -> re.Pattern[str]:
    """Matches a full URL whose path (and query, when given) is exactly path_and_query."""
    return re.compile(r"^https?://[^/]+" + re.escape(path_and_query) + "$")


def _enter_password(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _code(secret: str, after_step: int = -1) -> tuple[str, int]:
    """A current code for secret and its 30-second step, waiting for a step after after_step.

    The server refuses a code from a step it has already accepted (replay protection), so a
    second code for the same user must come from a later step, never the same one again.
    """
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        step = totp.timecode(now)
        if step > after_step:
            return totp.at(now), step
        time.sleep(totp.interval - now % totp.interval + 0.05)


def _enter_code(page: Page, code: str, button: str) -> None:
    page.get_by_label(CODE_LABEL).fill(code)
    page.get_by_role("button", name=button).click()


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"page scrolls sideways: {widths}"


def test_requester_signs_in_and_out_at_desktop_width(page: Page, shot: Shot) -> None:
    page.goto("/")
    expect(page).to_have_url(_path_is("/login/?next=/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to CareLine")
    shot(page, "login")

    _enter_password(page, "nurse.ed")
    expect(page).to_have_url(_path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Maria")
    expect(page.locator(".who .role")).to_have_text("Requester")
    expect(page.locator("p.lead")).to_contain_text("Requester · Emergency Department")
    # A requester gets the service-desk number, not the platform tiles.
    expect(page.get_by_role("heading", name="Need help from IT?")).to_be_visible()
    expect(page.locator("#engine-state")).to_have_count(0)
    shot(page, "home")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(_path_is("/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to CareLine")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "signed-out")

    page.goto("/")
    expect(page).to_have_url(_path_is("/login/?next=/"))


def test_requester_signs_in_at_phone_width(phone_page: Page, shot: Shot) -> None:
    page = phone_page
    page.goto("/")
    expect(page).to_have_url(_path_is("/login/?next=/"))
    for label in ("Username", "Password"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    _no_horizontal_scroll(page)
    shot(page, "login")

    _enter_password(page, "nurse.ed")
    expect(page).to_have_url(_path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Maria")
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_visible()
    expect(sign_out).to_be_in_viewport(ratio=1)
    _no_horizontal_scroll(page)
    shot(page, "home")


def test_wrong_password_is_refused(page: Page, shot: Shot) -> None:
    page.goto("/login/")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        _enter_password(page, "clerk.w4", "not-the-password")
    assert answer.value.status == 401
    expect(page).to_have_url(_path_is("/login/"))
    error = page.get_by_role("alert").filter(has_text="Wrong username or password.")
    expect(error).to_be_visible()
    expect(error).to_have_text("Wrong username or password.")
    # The username is kept for another try; the password is not echoed back.
    expect(page.get_by_label("Username", exact=True)).to_have_value("clerk.w4")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "error")


def test_agent_with_mfa_signs_in_with_a_code(
    page: Page, shot: Shot, careline_server: Server
) -> None:
    page.goto("/")
    _enter_password(page, "agent")
    expect(page).to_have_url(_path_is("/login/verify/?next=/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    shot(page, "verify")

    # A step the server has not accepted for her yet (other modules sign her in too).
    code, _ = _code(demo_totp_secret("agent"), after_step=last_step(careline_server, "agent"))
    _enter_code(page, code, "Verify")
    expect(page).to_have_url(_path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Priya")
    expect(page.locator(".who .role")).to_have_text("Service-desk agent")
    engine = page.locator("#engine-state")
    expect(engine).to_be_visible()
    expect(engine).to_contain_text(re.compile(r"(Running|Stopped)\s+engine"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit trail")).to_have_count(0)
    shot(page, "home")

    # Hidden from the menu and refused at the door.
    page.goto("/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_new_agent_enrols_then_is_asked_for_a_code(page: Page, shot: Shot) -> None:
    page.goto("/")
    _enter_password(page, NEW_AGENT)
    expect(page).to_have_url(_path_is("/login/enrol/?next=/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your second factor")
    expect(page.locator(".qr svg")).to_be_visible()
    secret_box = page.locator("code#totp-secret")
    expect(secret_box).to_have_text(re.compile(r"^[A-Z2-7]{16,}$"))
    shot(page, "enrol")

    secret = secret_box.inner_text().strip()
    code, step = _code(secret)
    _enter_code(page, code, "Confirm and sign in")
    expect(page).to_have_url(_path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good to see you, {NEW_AGENT}")
    expect(page.locator("#engine-state")).to_be_visible()
    shot(page, "home")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(_path_is("/login/"))
    _enter_password(page, NEW_AGENT)
    expect(page).to_have_url(_path_is("/login/verify/?next=/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    shot(page, "verify")

    code, _ = _code(secret, after_step=step)
    _enter_code(page, code, "Verify")
    expect(page).to_have_url(_path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good to see you, {NEW_AGENT}")


def test_auditor_filters_the_audit_trail(page: Page, shot: Shot, careline_server: Server) -> None:
    page.goto("/")
    _enter_password(page, "auditor")
    expect(page).to_have_url(_path_is("/login/verify/?next=/"))
    code, _ = _code(demo_totp_secret("auditor"), after_step=last_step(careline_server, "auditor"))
    _enter_code(page, code, "Verify")
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Frank")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    expect(page).to_have_url(_path_is("/audit/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(page.get_by_role("link", name="Audit trail")).to_have_attribute("aria-current", "page")
    rows = page.locator("table tbody tr")
    actions = page.locator("table tbody tr td:nth-child(4) code")
    # Other tests on the shared server sign the auditor in too: at least this sign-in shows.
    expect(rows.filter(has_text="auditor signed in").first).to_be_visible()
    all_actions = actions.all_inner_texts()
    assert "login" in all_actions
    assert any(not a.startswith("login") for a in all_actions), all_actions
    total = _event_count(page)
    shot(page, "all")

    page.get_by_label("Action", exact=True).fill("login")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/audit/\?(.*&)?action=login(&|$)"))
    expect(page.get_by_label("Action", exact=True)).to_have_value("login")
    expect(rows.filter(has_text="auditor signed in").first).to_be_visible()
    filtered_actions = actions.all_inner_texts()
    assert "login" in filtered_actions
    assert all(a.startswith("login") for a in filtered_actions), filtered_actions
    filtered = _event_count(page)
    assert 0 < filtered < total
    assert filtered >= len(filtered_actions)
    shot(page, "filtered")


def _event_count(page: Page) -> int:
    hint = page.locator("p.hint", has_text="events.").inner_text()
    match = re.match(r"(\d+) events\.", hint)
    assert match, hint
    return int(match.group(1))


def test_pages_are_styled(page: Page, shot: Shot) -> None:
    assets = ("stylesheet", "script")
    broken: list[str] = []
    # A stylesheet answered with a 404 page (text/html, nosniff) is aborted by Chromium, so it
    # shows up as a failed request rather than as a response.
    page.on(
        "response",
        lambda r: (
            broken.append(f"{r.status} {r.url}")
            if r.request.resource_type in assets and r.status != 200
            else None
        ),
    )
    page.on(
        "requestfailed",
        lambda r: broken.append(f"{r.failure} {r.url}") if r.resource_type in assets else None,
    )
    page.goto("/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to CareLine")
    page.wait_for_load_state("load")
    shot(page, "login")
    assert broken == [], f"stylesheets or scripts not served: {broken}"
    # The top bar is the brand colour and the skip link is off-screen until focused.
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(11, 93, 122)")
    expect(page.get_by_role("link", name="Skip to content")).not_to_be_in_viewport()
