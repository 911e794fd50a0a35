"""The knowledge base API: writing articles, their history, reading rights, feedback."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest
from django.utils import timezone

from careline.core.models import AuditEvent
from careline.knowledge.models import Article, ArticleVersion, Feedback
from tests.conftest import Hospital


def test_an_agent_writes_an_article_and_it_is_audited(api_as: Any, hospital: Hospital) -> None:
    response = api_as(hospital.agent).post(
        "/kb/articles",
        {
            "title": "Label printer prints blank labels",
            "body": "1. Turn the roll over.\n2. Press **Feed**.",
            "status": "published",
            "summary": "Fix blank specimen labels.",
            "tags": ["Labels", "printer"],
            "services": ["PRINT"],
            "review_by": "2027-01-31",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "published"
    assert body["tags"] == ["labels", "printer"]
    assert body["services"] == ["PRINT"]
    assert "<strong>Feed</strong>" in body["body_html"]
    assert body["owner"] == "priya"
    assert [v["number"] for v in body["history"]] == [1]
    event = AuditEvent.objects.get(action="article.create")
    assert event.actor == hospital.agent
    assert event.object_id == str(body["id"])


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"body": "no title"}, 422, "title"),
        ({"title": "No body"}, 422, "body"),
        ({"title": "  ", "body": "x"}, 422, "title"),
        ({"title": "Blank body", "body": "   "}, 422, "body"),
        ({"title": "Bad status", "body": "x", "status": "archived"}, 422, "status"),
        ({"title": "Bad audience", "body": "x", "audience": "doctors"}, 422, "audience"),
        ({"title": "Unknown service", "body": "x", "services": ["NOPE"]}, 404, "services"),
        ({"title": "Unknown owner", "body": "x", "owner": "nobody"}, 404, "owner"),
        ({"title": "Bad date", "body": "x", "review_by": "soon"}, 422, "review_by"),
        ({"title": "Huge", "body": "x" * 100_001}, 422, "body"),
        ({"title": "NUL\x00 title", "body": "x"}, 422, "title"),
        ({"title": "Tagged", "body": "x", "tags": ["ok", "b\x00d"]}, 422, "tags"),
        ({"title": "Asked", "body": "x", "asked_as": ["b\x00d"]}, 422, "asked_as"),
        ({"title": "Asked", "body": "x", "asked_as": ["word " * 41]}, 422, "asked_as"),
        (
            {"title": "Asked", "body": "x", "asked_as": [f"way {n}" for n in range(31)]},
            422,
            "asked_as",
        ),
        (
            {"title": "Asked", "body": "x", "asked_as": ["; ".join(f"w{n}" for n in range(31))]},
            422,
            "asked_as",
        ),
        ({"title": "Asked", "body": "x", "asked_as": "not a list"}, 422, "asked_as"),
    ],
)
def test_bad_articles_are_refused_naming_the_field_and_nothing_is_stored(
    api_as: Any, hospital: Hospital, payload: dict[str, Any], status: int, field: str
) -> None:
    response = api_as(hospital.agent).post("/kb/articles", payload)
    assert response.status_code == status, response.content
    assert field in response.json()["detail"]
    assert not Article.objects.exists()
    assert not ArticleVersion.objects.exists()


def test_a_nurse_may_not_write_articles(api_as: Any, hospital: Hospital) -> None:
    response = api_as(hospital.nurse).post("/kb/articles", {"title": "Mine", "body": "Text"})
    assert response.status_code == 403
    assert "kb.edit" in response.json()["detail"]
    assert not Article.objects.exists()


def test_every_change_is_a_version_saying_who_changed_what(api_as: Any, hospital: Hospital) -> None:
    created = api_as(hospital.agent).post(
        "/kb/articles", {"title": "Printer offline", "body": "Switch it off and on."}
    )
    article_id = created.json()["id"]
    changed = api_as(hospital.engineer).patch(
        f"/kb/articles/{article_id}",
        {"status": "published", "body": "Switch it off and on. Then print again."},
    )
    assert changed.status_code == 200, changed.content
    history = changed.json()["history"]
    assert [(v["number"], v["changed_by"]) for v in history] == [(2, "sam"), (1, "priya")]
    assert sorted(history[0]["changed"]) == ["body", "status"]
    assert ArticleVersion.objects.get(article_id=article_id, number=1).body.startswith(
        "Switch it off and on.\n"
    )
    # A change that changes nothing makes no version.
    same = api_as(hospital.engineer).patch(f"/kb/articles/{article_id}", {"status": "published"})
    assert same.json()["version"] == 2
    assert AuditEvent.objects.filter(action="article.update").count() == 1


def test_the_ways_staff_describe_a_problem_are_kept_with_their_history(
    api_as: Any, hospital: Hospital
) -> None:
    created = api_as(hospital.agent).post(
        "/kb/articles",
        {
            "title": "Computer on wheels battery runs flat",
            "body": "Plug the cart in whenever it is parked.",
            "status": "published",
            "asked_as": [
                "cart dies before the round ends",
                "  cart   will not charge ",
                "Cart dies before the round ends",
                "trolley computer flat; cart shuts off",
                "",
            ],
        },
    )
    assert created.status_code == 201, created.content
    article_id = created.json()["id"]
    asked = [
        "cart dies before the round ends",
        "cart will not charge",
        "trolley computer flat",
        "cart shuts off",
    ]
    assert created.json()["asked_as"] == asked
    assert api_as(hospital.nurse).get(f"/kb/articles/{article_id}").json()["asked_as"] == asked
    changed = api_as(hospital.engineer).patch(
        f"/kb/articles/{article_id}", {"asked_as": ["battery gauge empty"]}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["asked_as"] == ["battery gauge empty"]
    assert changed.json()["history"][0]["changed"] == ["asked_as"]
    first, second = ArticleVersion.objects.filter(article_id=article_id).order_by("number")
    assert first.asked_as.splitlines() == asked
    assert second.asked_as == "battery gauge empty"
    event = AuditEvent.objects.filter(action="article.update").get()
    assert event.after["asked_as"] == "battery gauge empty"
    # Emptied, the article has none; null is refused naming the field.
    assert (
        api_as(hospital.engineer)
        .patch(f"/kb/articles/{article_id}", {"asked_as": []})
        .json()["asked_as"]
        == []
    )
    nulled = api_as(hospital.engineer).patch(f"/kb/articles/{article_id}", {"asked_as": None})
    assert nulled.status_code == 422
    assert "asked_as" in nulled.json()["detail"]


def test_patch_refuses_nothing_and_nulls(api_as: Any, hospital: Hospital) -> None:
    article_id = (
        api_as(hospital.agent).post("/kb/articles", {"title": "T", "body": "B"}).json()["id"]
    )
    assert api_as(hospital.agent).patch(f"/kb/articles/{article_id}", {}).status_code == 422
    nulled = api_as(hospital.agent).patch(f"/kb/articles/{article_id}", {"title": None})
    assert nulled.status_code == 422
    assert "title" in nulled.json()["detail"]
    assert api_as(hospital.agent).patch("/kb/articles/999999", {"title": "x"}).status_code == 404


def test_who_reads_what(api_as: Any, hospital: Hospital, library: dict[str, Article]) -> None:
    nurse, agent = api_as(hospital.nurse), api_as(hospital.agent)
    assert nurse.get(f"/kb/articles/{library['cow'].pk}").status_code == 200
    # Readers do not see the version history; writers do.
    assert nurse.get(f"/kb/articles/{library['cow'].pk}").json()["history"] is None
    assert agent.get(f"/kb/articles/{library['cow'].pk}").json()["history"]
    # IT-only and draft articles are "not found" for a nurse, not "forbidden".
    assert nurse.get(f"/kb/articles/{library['it_only'].pk}").status_code == 404
    assert nurse.get(f"/kb/articles/{library['draft'].pk}").status_code == 404
    assert agent.get(f"/kb/articles/{library['it_only'].pk}").status_code == 200
    # The auditor reads IT articles but not drafts, and writes nothing.
    auditor = api_as(hospital.auditor)
    assert auditor.get(f"/kb/articles/{library['it_only'].pk}").status_code == 200
    assert auditor.get(f"/kb/articles/{library['draft'].pk}").status_code == 404
    assert auditor.patch(f"/kb/articles/{library['cow'].pk}", {"title": "x"}).status_code == 403
    assert api_as(None).get(f"/kb/articles/{library['cow'].pk}").status_code == 401


def test_an_article_past_its_review_date_is_flagged_stale(api_as: Any, hospital: Hospital) -> None:
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    body = (
        api_as(hospital.agent)
        .post("/kb/articles", {"title": "Old", "body": "B", "review_by": yesterday})
        .json()
    )
    assert body["stale"] is True
    fresh = api_as(hospital.agent).patch(f"/kb/articles/{body['id']}", {"review_by": "2099-01-01"})
    assert fresh.json()["stale"] is False


def test_feedback_with_a_comment(
    api_as: Any, hospital: Hospital, library: dict[str, Article]
) -> None:
    nurse = api_as(hospital.nurse)
    path = f"/kb/articles/{library['cow'].pk}/feedback"
    assert nurse.post(path, {"solved": True}).status_code == 201
    response = nurse.post(path, {"solved": False, "comment": "Our carts have no gauge."})
    assert response.status_code == 201
    assert response.json()["comment"] == "Our carts have no gauge."
    article = api_as(hospital.agent).get(f"/kb/articles/{library['cow'].pk}").json()
    assert (article["helpful"], article["not_helpful"]) == (1, 1)
    too_long = nurse.post(path, {"solved": False, "comment": "x" * 2001})
    assert too_long.status_code == 422
    assert "comment" in too_long.json()["detail"]
    assert nurse.post(path, {"comment": "no answer"}).status_code == 422
    hidden = nurse.post(f"/kb/articles/{library['it_only'].pk}/feedback", {"solved": True})
    assert hidden.status_code == 404
    assert Feedback.objects.count() == 2


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
]


@pytest.mark.parametrize("payload", XSS)
def test_article_bodies_are_rendered_without_scripts_handlers_or_javascript_links(
    api_as: Any, hospital: Hospital, payload: str
) -> None:
    response = api_as(hospital.agent).post(
        "/kb/articles", {"title": payload, "body": f"Before {payload} after", "status": "published"}
    )
    assert response.status_code == 201
    tags = _tags(response.json()["body_html"])
    assert not {name for name, _ in tags} & {"script", "iframe", "svg", "object", "embed"}
    for _name, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")]
        assert not [v for v in attrs.values() if "javascript:" in (v or "").lower()]


def _tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every element the browser would build from `markup`, with its attributes."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collector().feed(markup)
    return found
