"""The knowledge base in Chromium: hostile article text stays inert, and a nurse on her phone
fixes a problem from a suggested article without filing a ticket."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import REPO, Server
from tests.browser.people import enter_password, sign_in_with_code

pytestmark = pytest.mark.browser

# Each payload, if it ever ran, would set window.__xss or open a dialog.
XSS = [
    "<script>window.__xss=1;alert(1)</script>",
    '<img src=x onerror="window.__xss=1;alert(1)">',
    '<svg onload="window.__xss=1;alert(1)"></svg>',
    "[click me](javascript:window.__xss=1;alert(1))",
    '<a href="javascript:window.__xss=1">link</a>',
    '"><script>window.__xss=1</script>',
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    '<details open ontoggle="window.__xss=1">x</details>',
]
PAYLOAD = " ".join(XSS)
# The model is loaded on the server's first semantic search; allow for it once.
FIRST_SEARCH_TIMEOUT_MS = 120_000


def _api_token(server: Server, username: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(CARELINE_DATA_DIR=str(server.data_dir), DJANGO_SETTINGS_MODULE="careline.settings")
    done = subprocess.run(
        [sys.executable, "-m", "careline.cli", "token", "create", "--user", username],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]


def _post_article(server: Server, token: str, title: str, body: str) -> int:
    request = urllib.request.Request(  # noqa: S310  (the test's own server)
        f"{server.url}/api/v1/kb/articles",
        data=json.dumps({"title": title, "body": body, "status": "published"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=FIRST_SEARCH_TIMEOUT_MS / 1000) as response:  # noqa: S310
        assert response.status == 201
        return int(json.loads(response.read())["id"])


def _watch(page: Page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def _assert_inert(page: Page, dialogs: list[str]) -> None:
    page.wait_for_timeout(300)  # give any handler (onerror, onload, ontoggle) time to fire
    assert dialogs == []
    assert page.evaluate("() => window.__xss") is None
    # Only the page's own scripts exist; none came from article text.
    sources = page.evaluate("() => [...document.scripts].map(s => s.src || s.textContent)")
    assert not [s for s in sources if "__xss" in s]
    assert page.evaluate("() => document.querySelectorAll('iframe, svg, [onerror]').length") == 0


def test_hostile_titles_bodies_and_comments_render_inert(
    page: Page, careline_server: Server, new_page: object
) -> None:
    token = _api_token(careline_server, "agent")
    article_id = _post_article(careline_server, token, f"Printer {XSS[0]}"[:200], PAYLOAD)

    dialogs = _watch(page)
    enter_password(page, "nurse.ed")
    page.goto(f"/kb/{article_id}/")
    expect(page.locator("#article-title")).to_contain_text("<script>")
    _assert_inert(page, dialogs)
    page.get_by_label("Comment").fill(PAYLOAD)
    page.get_by_role("button", name="No").click()
    expect(page.get_by_text("Thank you: your feedback")).to_be_visible()
    _assert_inert(page, dialogs)
    # The list and the search results (snippets are built from the body) are inert too.
    for path in ("/kb/", "/kb/?q=printer+script+window"):
        page.goto(path)
        _assert_inert(page, dialogs)

    writer = new_page()  # type: ignore[operator]
    writer_dialogs = _watch(writer)
    sign_in_with_code(writer, careline_server, "agent")
    writer.goto(f"/kb/{article_id}/")
    expect(writer.locator("#feedback-comments")).to_contain_text("<img src=x")
    _assert_inert(writer, writer_dialogs)
    writer.goto(f"/kb/{article_id}/edit/")
    _assert_inert(writer, writer_dialogs)


def _count(server: Server, sql: str) -> int:
    with closing(sqlite3.connect(Path(server.data_dir) / "careline.sqlite3")) as db:
        return int(db.execute(sql).fetchone()[0])


def test_a_suggested_article_solves_it_on_a_phone_without_a_ticket(
    phone_page: Page, careline_server: Server
) -> None:
    page = phone_page
    enter_password(page, "clerk.w4")
    # The server loads the sentence model on its first search; do that before typing.
    page.goto("/kb/?q=wristband", timeout=FIRST_SEARCH_TIMEOUT_MS)
    tickets_before = _count(careline_server, "SELECT count(*) FROM servicedesk_ticket")
    page.goto("/report/")
    page.get_by_label("What's wrong?").press_sequentially("the bracelet printer has jammed")
    suggestion = page.locator("#report-check").get_by_role("link", name="Wristband printer")
    expect(suggestion).to_be_visible()
    with page.context.expect_page() as opened:
        suggestion.click()
    article = opened.value
    expect(article.get_by_role("heading", level=1)).to_contain_text("Wristband printer")
    article.get_by_role("button", name="This solved it").click()
    expect(article.locator("#solved-done")).to_have_text("Glad that is fixed")
    width = article.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    assert _count(careline_server, "SELECT count(*) FROM knowledge_deflection") >= 1
    assert _count(careline_server, "SELECT count(*) FROM servicedesk_ticket") == tickets_before
