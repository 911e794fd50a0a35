"""Self-service in the portal: suggestions while typing, deflection, and articles shown."""

from __future__ import annotations

import re

from django.test import Client

from careline.core.models import User
from careline.knowledge.models import Article, ArticleShown, Deflection, Feedback
from careline.servicedesk import suggestions
from careline.servicedesk.models import Ticket
from tests.conftest import Hospital


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_report_form_suggests_articles_as_the_requester_types(
    hospital: Hospital, library: dict[str, Article]
) -> None:
    found = suggestions.suggest("the wristband printer is jammed again", "PRINT")
    assert found[0].title == "Wristband printer jammed"
    assert found[0].url == f"/kb/{library['wristband'].pk}/?from=portal"
    titles = [s.title for s in suggestions.suggest("unlock account directory console", None)]
    assert "Unlock an account from the directory console" not in titles
    page = client_for(hospital.nurse).post(
        "/report/check/", {"title": "wristband printer jammed", "description": "", "service": ""}
    )
    assert "Wristband printer jammed" in page.content.decode()
    assert f'name="shown" value="/kb/{library["wristband"].pk}/?from=portal"' in (
        page.content.decode()
    )


def test_this_solved_it_counts_a_deflection_and_files_no_ticket(
    hospital: Hospital, library: dict[str, Article]
) -> None:
    client = client_for(hospital.nurse)
    article = client.get(f"/kb/{library['wristband'].pk}/?from=portal").content.decode()
    assert "This solved it" in article
    done = client.post(f"/kb/{library['wristband'].pk}/solved/")
    assert done.status_code == 200
    assert "No ticket was needed" in done.content.decode()
    assert Deflection.objects.get().user == hospital.nurse
    assert Feedback.objects.get().solved is True
    assert not Ticket.objects.exists()
    assert client.post(f"/kb/{library['it_only'].pk}/solved/").status_code == 404


def test_a_ticket_filed_after_suggestions_records_the_articles_shown(
    hospital: Hospital, library: dict[str, Article]
) -> None:
    client = client_for(hospital.nurse)
    shown = [
        f"/kb/{library['wristband'].pk}/?from=portal",
        f"/kb/{library['draft'].pk}/?from=portal",  # not published: not recorded
        "/elsewhere/",
    ]
    response = client.post(
        "/report/",
        {
            "service": "",
            "title": "Wristband printer jammed in ED",
            "care_effect": "degraded",
            "scope": "person",
            "description": "Tried the article, still jams.",
            "department": "NG-ED",
            "kind": "incident",
            "shown": shown,
        },
    )
    assert response.status_code == 302, response.content
    ticket = Ticket.objects.get()
    assert list(
        ArticleShown.objects.filter(ticket=ticket).values_list("article_id", flat=True)
    ) == [library["wristband"].pk]


def test_pages_for_readers_and_writers(hospital: Hospital, library: dict[str, Article]) -> None:
    nurse, agent = client_for(hospital.nurse), client_for(hospital.agent)
    listing = nurse.get("/kb/").content.decode()
    assert "Wristband printer jammed" in listing
    assert "Printer driver rollout" not in listing
    results = nurse.get("/kb/", {"q": "jammed"}).content.decode()
    assert "<mark>jammed</mark>" in results
    assert nurse.get("/kb/", {"q": "***"}).status_code == 200
    assert nurse.get("/kb/new/").status_code == 403
    assert nurse.get("/kb/admin/").status_code == 403
    assert nurse.get(f"/kb/{library['draft'].pk}/").status_code == 404
    page = agent.get(f"/kb/{library['cow'].pk}/").content.decode()
    assert "Version history" in page
    admin = agent.get("/kb/admin/").content.decode()
    assert "Lexical search only" in admin
    saved = agent.post(
        "/kb/new/",
        {
            "title": "Monitor blank",
            "summary": "",
            "body": "Press the power button.",
            "status": "published",
            "audience": "everyone",
            "tags": "screen, monitor",
            "asked_as": "screen gone dark\r\n\r\nmonitor says no signal\r\n",
            "services": ["PRINT"],
        },
    )
    assert saved.status_code == 302
    created = Article.objects.get(title="Monitor blank")
    assert created.tag_list == ["screen", "monitor"]
    assert created.asked_as_list == ["screen gone dark", "monitor says no signal"]
    form = agent.get(f"/kb/{created.pk}/edit/").content.decode()
    assert "Also asked as" in form
    assert "screen gone dark\nmonitor says no signal" in form
    edited = agent.post(
        f"/kb/{created.pk}/edit/",
        {"title": "", "body": "x", "status": "published", "audience": "everyone"},
    )
    assert edited.status_code == 422
    feedback = nurse.post(
        f"/kb/{created.pk}/feedback/", {"solved": "no", "comment": "<script>alert(1)</script>"}
    )
    assert feedback.status_code == 302
    writer_view = agent.get(f"/kb/{created.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in writer_view
    assert not re.search(r"<script>alert", writer_view)
