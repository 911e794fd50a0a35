"""The service desk through a real browser: a nurse reports from her phone in under 30 s,
the agent works the ticket from the console at a desk, and the portal's htmx helpers answer
as she types."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.people import enter_password, no_horizontal_scroll, sign_in_with_code

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
SCANNER = "Scanner won't read wristbands"
# What the nurse reported, for the agent's test; filled by whichever test reports first.
REPORTED: dict[str, str] = {}


def _fill_scanner_report(page: Page) -> None:
    """What Maria does: the barcode scanner in the ED is slower to use, she alone."""
    page.get_by_label("What is affected?").select_option(label="Barcode medication administration")
    page.get_by_label("What's wrong?").fill(SCANNER)
    page.get_by_label("Care is slower; there is a workaround").check()
    page.get_by_label("Just me").check()
    page.get_by_role("button", name="Send to IT").click()


def test_nurse_reports_from_her_phone_in_under_30_seconds(phone_page: Page, shot: Shot) -> None:
    page = phone_page
    enter_password(page, "nurse.ed")
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Maria")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Report a problem").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a problem")
    page.wait_for_load_state("load")
    started = time.monotonic()
    # Her department is filled in for her.
    expect(page.get_by_label("Your department")).to_have_value("NG-ED")
    no_horizontal_scroll(page)
    shot(page, "form")

    _fill_scanner_report(page)
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    expect(page.locator(".priority-sentence")).to_contain_text("P2")
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"reporting took {elapsed:.1f} s"

    summary = page.locator(".ticket-summary")
    expect(summary).to_contain_text(
        "Priority P2 high: Patient care degraded in a critical area (ED)."
    )
    # The day is named when the clock runs past midnight (site time): "00:10 on Sat 5 Dec".
    expect(summary).to_contain_text(
        re.compile(r"IT will respond by \d\d:\d\d( on \w{3} \d{1,2} \w{3})?\.")
    )
    number = page.locator("h1 .ticket-number").inner_text()
    assert re.fullmatch(r"INC-\d{6}", number), number
    expect(page.get_by_text(f"Your ticket {number} is with IT.")).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, "ticket")
    REPORTED.update(number=number, url=page.url)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My tickets").click()
    expect(page.get_by_role("link", name=re.compile(re.escape(number)))).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, "my-tickets")


def test_agent_works_the_ticket_from_the_console(
    page: Page, new_page: Callable[..., Page], careline_server: Server, shot: Shot
) -> None:
    if not REPORTED:  # run alone: let Maria report first, on a phone of her own
        phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        enter_password(phone, "nurse.ed")
        phone.goto("/report/")
        _fill_scanner_report(phone)
        expect(phone).to_have_url(re.compile(r"/tickets/\d+/$"))
        REPORTED.update(number=phone.locator("h1 .ticket-number").inner_text())
    number = REPORTED["number"]

    sign_in_with_code(page, careline_server, "agent")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Service desk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Service desk")
    rows = page.locator("table.queue tbody tr")
    ours = rows.filter(has_text=number)
    expect(ours).to_have_count(1)
    expect(ours.locator(".prio")).to_have_text("P2")
    # The queue is in clinical order, so the P2 stands above every P3 and P4.
    priorities = rows.locator(".prio").all_inner_texts()
    assert priorities == sorted(priorities)
    numbers = rows.locator("td.nowrap a").all_inner_texts()
    lower = [i for i, p in enumerate(priorities) if p in ("P3", "P4")]
    assert numbers.index(number) < (lower[0] if lower else len(numbers))
    # The table refreshes itself in the background without counting as activity.
    table = page.locator("#queue-table")
    expect(table).to_have_attribute("hx-trigger", re.compile(r"^every 30s"))
    expect(table).to_have_attribute("hx-headers", re.compile("X-CareLine-Background"))
    shot(page, "console")

    ours.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    shot(page, "ticket")

    page.get_by_label("Reply or internal note").fill("Swapping the scanner on bay 4 now.")
    page.get_by_role("button", name="Send reply to requester").click()
    expect(page.get_by_text("Reply sent to the requester.")).to_be_visible()
    timeline = page.locator(".timeline")
    expect(timeline.locator(".entry-reply")).to_contain_text("Swapping the scanner on bay 4 now.")

    page.get_by_label("Resolution", exact=True).select_option("fixed")
    page.get_by_label("What was done").fill("Replaced the scanner; the old one goes to biomed.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.get_by_text(f"{number} is resolved")).to_be_visible()
    expect(page.locator(".ticket-badges .status")).to_have_text("Resolved")
    expect(page.locator(".resolution")).to_contain_text("Replaced the scanner")
    shot(page, "resolved")

    # On a phone the actions follow the timeline and nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    no_horizontal_scroll(page)
    shot(page, "resolved-phone")

    page.get_by_role("link", name="Service desk").first.click()
    expect(page.locator("table.queue tbody tr").filter(has_text=number)).to_have_count(0)
    no_horizontal_scroll(page)  # the table scrolls inside its own box, not the page
    shot(page, "console-phone")


def test_portal_helps_as_he_types(
    phone_page: Page, new_page: Callable[..., Page], shot: Shot
) -> None:
    # Maria reports a whole-department EHR problem: the next person on the EHR is told of it.
    nurse = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    enter_password(nurse, "nurse.ed")
    nurse.goto("/report/")
    nurse.get_by_label("What is affected?").select_option("EHR")
    nurse.get_by_label("What's wrong?").fill("EHR freezes when opening the MAR")
    nurse.get_by_label("Care is slower; there is a workaround").check()
    nurse.get_by_label("My department").check()
    nurse.get_by_role("button", name="Send to IT").click()
    expect(nurse).to_have_url(re.compile(r"/tickets/\d+/$"))
    known = nurse.locator("h1 .ticket-number").inner_text()

    # Tom, the ward clerk on Ward 4, starts typing a report of his own.
    page = phone_page
    enter_password(page, "clerk.w4")
    page.goto("/report/")
    expect(page.get_by_label("Your department")).to_have_value("NG-W4")
    # Sent too soon: each missing answer is named beside its question, and nothing is lost.
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send to IT").click()
    assert answer.value.status == 422
    expect(page.locator("#report-errors")).to_have_text("Please check the 3 answers marked below.")
    expect(page.locator("#id_title_error")).to_have_text("Say in a few words what is wrong.")
    expect(page.get_by_label("What's wrong?")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your department")).to_have_value("NG-W4")
    no_horizontal_scroll(page)
    shot(page, "errors")
    page.get_by_label("Details").press_sequentially("Patient MRN 12345678 ", delay=20)
    warning = page.locator("#phi-warning")
    expect(warning).to_contain_text("This looks like it contains an MRN.")
    expect(warning).not_to_contain_text("12345678")

    page.get_by_label("What is affected?").select_option("EHR")
    item = page.locator(".known-item").filter(has_text=known)
    expect(item).to_contain_text("EHR freezes when opening the MAR")
    no_horizontal_scroll(page)
    shot(page, "known-and-phi")
    item.get_by_role("button", name="I have this problem too").click()
    done = page.locator(".known-item .done-note")
    expect(done).to_contain_text("Thanks — you've been added; IT will update you.")
    expect(done).to_contain_text("1 person has said they have this problem.")
    shot(page, "me-too")
