"""Signing the demo hospital's people in through the browser, shared by the browser tests.

A TOTP code is accepted once per person and 30-second step, and every test signs people in
on one shared server: a sign-in with a code uses a step the server has not yet accepted for
that person (waiting for the next one if need be), and a person signed in once is signed in
again by their session's cookies rather than by another code.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from typing import Any

import pyotp
from playwright.sync_api import Page, expect

from careline.core.demo import DEMO_PASSWORD, demo_totp_secret
from tests.browser.conftest import Server

# The cookies of each person's session after a sign-in with a code.
SESSIONS: dict[str, list[Any]] = {}


def enter_password(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def last_step(server: Server, username: str) -> int:
    """The TOTP step the server last accepted for this person (codes are single-use)."""
    with closing(sqlite3.connect(server.data_dir / "careline.sqlite3")) as db:
        row = db.execute("SELECT totp_last_step FROM core_user WHERE username = ?", [username])
        found = row.fetchone()
    return int(found[0]) if found else 0


def sign_in_with_code(page: Page, server: Server, username: str) -> None:
    """Password, then the code of a step the server has not accepted for this person.

    A person signed in this way once already gets that session's cookies instead (while it
    lasts): each code is accepted once, and a second sign-in would wait for the next step.
    The code itself is tested by the first sign-in of each person and by test_signin.py.
    """
    if username in SESSIONS:
        page.context.add_cookies(SESSIONS[username])
        page.goto("/")
        if page.get_by_role("button", name="Sign out").count():
            return
        page.context.clear_cookies()  # signed out or expired since: sign in afresh
    enter_password(page, username)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    totp = pyotp.TOTP(demo_totp_secret(username))
    used = last_step(server, username)
    while totp.timecode(time.time()) <= used:  # another test signed this person in this step
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)
    now = time.time()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.at(now))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    SESSIONS[username] = [
        {"name": c["name"], "value": c["value"], "url": server.url} for c in page.context.cookies()
    ]


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"page scrolls sideways: {widths}"
