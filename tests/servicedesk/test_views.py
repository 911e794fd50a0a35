"""The service desk's pages: the portal, My tickets, the ticket page and the agent console.

Each page is tried by Maria (the ED nurse who reports), Priya (agent), Frank (auditor) and
Olive (the ward clerk at Riverside, who must never see the ED's business).
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from careline.core import audit
from careline.core.models import AuditEvent, User
from careline.core.signin import LAST_ACTIVITY_KEY
from careline.servicedesk import suggestions
from careline.servicedesk.models import AffectedPerson, Comment, SavedView, Ticket
from careline.servicedesk.services import lifecycle, relations, tickets
from careline.servicedesk.suggestions import Suggestion
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft

# 09:00 in New York, where Northgate is.
T0 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)

ICU_SCANNER = {
    "service": "",
    "title": "Scanner won't read wristbands in ICU",
    "care_effect": "degraded",
    "scope": "person",
    "description": "Beeps, nothing appears.",
    "department": "NG-ED",
    "kind": "incident",
}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def text(response: Any) -> str:
    """The page's words without markup, whitespace folded: what a reader sees."""
    inline = re.sub(r"</?(?:strong|em|span|a|abbr|time|code)\b[^>]*>", "", html(response))
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def field_error(response: Any, field: str) -> str:
    """The error shown beside a field of the portal form."""
    match = re.search(rf'id="id_{field}_error">([^<]*)<', html(response))
    return htmllib.unescape(match.group(1)) if match else ""


def open_ticket(user: User, **overrides: Any) -> Ticket:
    return tickets.create_ticket(user, draft(**overrides))


def _known_outage(desk: Hospital, **overrides: Any) -> Ticket:
    """An EHR outage reported by the ED for the whole department: a known incident."""
    values = {"title": "EHR will not load", "service": "EHR", "scope": "department"}
    return open_ticket(desk.nurse, **(values | overrides))


# --- who gets which page ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [("nurse", 200), ("agent", 200), ("auditor", 403), ("outsider", 200)],
)
def test_report_page_for_each_persona(desk: Hospital, persona: str, status: int) -> None:
    response = client_for(getattr(desk, persona)).get("/report/")
    assert response.status_code == status
    if status == 200:
        assert "What is affected?" in text(response)
        assert "How does it affect patient care?" in text(response)
        assert "How many people?" in text(response)
    else:
        assert "Not allowed" in text(response)


@pytest.mark.parametrize(
    ("persona", "status", "staff_version"),
    [
        ("nurse", 200, False),
        ("agent", 200, True),
        ("auditor", 200, True),
        ("manager", 200, True),
        ("outsider", 404, False),
    ],
)
def test_ticket_page_for_each_persona(
    desk: Hospital, persona: str, status: int, staff_version: bool
) -> None:
    ticket = open_ticket(desk.nurse)
    response = client_for(getattr(desk, persona)).get(f"/tickets/{ticket.pk}/")
    assert response.status_code == status
    if status == 404:
        assert ticket.title not in html(response)
        assert "Not found" in text(response)
        return
    assert ticket.number in text(response)
    assert ("Timeline" in text(response)) is staff_version
    assert ("Messages" in text(response)) is not staff_version
    # Every read is an audit event.
    assert AuditEvent.objects.filter(
        action="ticket.view", object_id=str(ticket.pk), actor=getattr(desk, persona)
    ).exists()


def test_ticket_page_of_a_ticket_that_does_not_exist_is_404(desk: Hospital) -> None:
    assert client_for(desk.agent).get("/tickets/999999/").status_code == 404


def test_auditor_reads_the_staff_page_without_any_form(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    page = html(client_for(desk.auditor).get(f"/tickets/{ticket.pk}/"))
    assert "changes nothing" in page
    assert '<form method="post" action="/tickets/' not in page


@pytest.mark.parametrize(
    ("persona", "status"),
    [("nurse", 403), ("outsider", 403), ("agent", 200), ("auditor", 200), ("admin", 200)],
)
def test_console_for_each_persona(desk: Hospital, persona: str, status: int) -> None:
    open_ticket(desk.nurse)
    client = client_for(getattr(desk, persona))
    for path in ("/desk/", "/desk/table/"):
        response = client.get(path)
        assert response.status_code == status, path
    if status == 403:
        assert "Not allowed" in text(response)
        assert client.post("/desk/bulk/", {"ticket": ["1"], "action": "status"}).status_code == 403
        assert client.post("/desk/views/", {"name": "x"}).status_code == 403


def test_console_checkboxes_are_for_those_who_may_change(desk: Hospital) -> None:
    open_ticket(desk.nurse)
    assert 'name="ticket"' in html(client_for(desk.agent).get("/desk/"))
    assert 'name="ticket"' not in html(client_for(desk.auditor).get("/desk/"))


def test_anonymous_is_sent_to_sign_in(desk: Hospital) -> None:
    for path in ("/report/", "/my/", "/desk/", "/tickets/1/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_menu_shows_the_console_to_staff_only(desk: Hospital) -> None:
    nurse_page = text(client_for(desk.nurse).get("/"))
    agent_page = text(client_for(desk.agent).get("/"))
    for words in ("Report a problem", "My tickets"):
        assert words in nurse_page
        assert words in agent_page
    assert "Service desk" not in nurse_page
    assert "Service desk" in agent_page


# --- My tickets --------------------------------------------------------------------------


def test_my_tickets_lists_own_and_departments_newest_first(desk: Hospital) -> None:
    colleague = User.objects.create(
        username="jo", role="requester", department=desk.nurse.department
    )
    with time_machine.travel(T0, tick=False) as clock:
        first = open_ticket(desk.nurse, title="First problem")
        clock.shift(60)
        theirs = open_ticket(colleague, title="Colleague's problem")
        clock.shift(60)
        riverside = open_ticket(desk.outsider, title="Riverside problem", department="RV-W1")
        security = open_ticket(colleague, title="Lost laptop", kind="security")
    page = text(client_for(desk.nurse).get("/my/"))
    assert page.index(theirs.title) < page.index(first.title)
    assert riverside.title not in page
    assert security.title not in page  # a colleague's security incident stays theirs
    assert "P2 Maria" not in page
    outsider = text(client_for(desk.outsider).get("/my/"))
    assert riverside.title in outsider
    assert first.title not in outsider


def test_my_tickets_shows_status_and_priority_as_words(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    page = html(client_for(desk.nurse).get("/my/"))
    assert f'href="/tickets/{ticket.pk}/"' in page
    assert '<span class="badge prio prio-p2"' in page
    assert ">New<" in page or ">Assigned<" in page


# --- Report a problem --------------------------------------------------------------------


def test_report_form_prefills_the_department(desk: Hospital) -> None:
    page = html(client_for(desk.nurse).get("/report/"))
    assert re.search(r'<option value="NG-ED" selected>', page)
    assert 'value="incident"' in page
    assert re.search(r'value="incident"[^>]*checked', page)
    assert "Something else / not sure" in page


def test_portal_report_opens_a_p2_and_shows_the_ticket(desk: Hospital) -> None:
    client = client_for(desk.nurse)
    with time_machine.travel(T0, tick=False):
        response = client.post("/report/", ICU_SCANNER)
        ticket = Ticket.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/tickets/{ticket.pk}/"
        page = client.get(response["Location"])
    assert ticket.priority == "P2"
    assert ticket.requester == desk.nurse
    assert ticket.via == "web"
    words = text(page)
    assert ticket.number in words
    assert "Priority P2 high: Patient care degraded in a critical area (ED)." in words
    # 30 minutes to respond, shown in Northgate's time (New York, UTC-5 in March).
    assert "IT will respond by 09:30." in words
    assert "reported the same problem" not in words
    assert f"Thank you. Your ticket {ticket.number} is with IT." in words


def test_portal_report_of_a_request_and_a_security_problem(desk: Hospital) -> None:
    client = client_for(desk.nurse)
    client.post("/report/", {**ICU_SCANNER, "kind": "request", "title": "New badge please"})
    client.post(
        "/report/",
        {
            **ICU_SCANNER,
            "kind": "security",
            "title": "Laptop left on the bus",
            "care_effect": "none",
            "phi_breach_suspected": "on",
        },
    )
    request, security = Ticket.objects.order_by("id")
    assert request.kind == "request"
    assert security.kind == "security"
    assert security.priority == "P1"  # a suspected breach of patient information


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": "   "}, "title", "Say in a few words what is wrong."),
        ({"title": "x" * 10_000}, "title", "must be at most 200 characters (got 10000)"),
        ({"department": "NO-SUCH"}, "department", "no department has code 'NO-SUCH'"),
        ({"care_effect": "catastrophic"}, "care_effect", "must be one of blocked, degraded, none"),
        ({"scope": ""}, "scope", "Choose how many people have the problem."),
        ({"kind": "complaint"}, "kind", "must be one of incident, request, security"),
        ({"service": "NOPE"}, "service", "no clinical service has code 'NOPE'"),
        ({"phi_breach_suspected": "on"}, "phi_breach_suspected", "applies to security incidents"),
    ],
)
def test_bad_report_is_shown_next_to_its_field_and_creates_nothing(
    desk: Hospital, change: dict[str, str], field: str, message: str
) -> None:
    events = AuditEvent.objects.count()
    posted = {**ICU_SCANNER, "description": "Bay 4, since the night shift"} | change
    response = client_for(desk.nurse).post("/report/", posted)
    assert response.status_code == 422
    assert message in field_error(response, field), field_error(response, field)
    assert (
        f'aria-describedby="id_{field}_error"' in html(response)
        or field == "care_effect"
        or field in ("scope", "kind")
    )
    assert Ticket.objects.count() == 0
    assert AuditEvent.objects.count() == events
    # What the person typed is kept.
    assert "Bay 4, since the night shift" in html(response)


def test_auditor_may_not_post_a_report(desk: Hospital) -> None:
    response = client_for(desk.auditor).post("/report/", ICU_SCANNER)
    assert response.status_code == 403
    assert Ticket.objects.count() == 0


# --- known incidents and "me too" ---------------------------------------------------------


def test_known_incidents_fragment_lists_the_services_open_incidents(desk: Hospital) -> None:
    outage = _known_outage(desk)
    with_phi = _known_outage(desk, title="EHR froze on MRN 12345678")
    open_ticket(desk.nurse, title="My own EHR password", service="EHR")  # one person: not known
    open_ticket(desk.nurse, title="Printer queue stuck", service="PRINT", scope="site")
    response = client_for(desk.outsider).get(
        "/report/known/", {"service": "EHR"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    fragment = html(response)
    assert "<html" not in fragment
    assert outage.title in fragment
    assert "Reported problem with Electronic health record" in fragment  # PHI title hidden
    assert "12345678" not in fragment
    assert with_phi.number in fragment
    assert "My own EHR password" not in fragment
    assert "Printer queue stuck" not in fragment
    assert "I have this problem too" in fragment
    assert f'hx-post="/report/known/{outage.pk}/affected/"' in fragment


def test_known_incidents_fragment_is_empty_for_no_or_unknown_service(desk: Hospital) -> None:
    _known_outage(desk)
    client = client_for(desk.nurse)
    for service in ("", "NOPE", "x" * 500):
        response = client.get("/report/known/", {"service": service})
        assert response.status_code == 200
        assert html(response).strip() == ""


def test_report_page_with_a_service_shows_its_known_incidents(desk: Hospital) -> None:
    outage = _known_outage(desk)
    page = text(client_for(desk.outsider).get("/report/", {"service": "EHR"}))
    assert "IT already knows about this problem" in page
    assert outage.title in page


def test_me_too_adds_the_person_and_shows_the_count(desk: Hospital) -> None:
    outage = _known_outage(desk)
    AffectedPerson.objects.create(ticket=outage, user=desk.engineer, created_at=outage.created_at)
    response = client_for(desk.outsider).post(
        f"/report/known/{outage.pk}/affected/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    words = text(response)
    assert "Thanks — you've been added; IT will update you." in words
    assert "2 people have said they have this problem." in words
    assert "There is no need to report it again." in words
    assert AffectedPerson.objects.filter(ticket=outage, user=desk.outsider).exists()
    assert Ticket.objects.count() == 1  # no duplicate filed
    # Those who can see the incident see how many joined.
    assert "2 other people have reported the same problem." in text(
        client_for(desk.agent).get(f"/tickets/{outage.pk}/")
    )


def test_me_too_without_htmx_redirects_with_a_message(desk: Hospital) -> None:
    outage = _known_outage(desk)
    client = client_for(desk.outsider)
    response = client.post(f"/report/known/{outage.pk}/affected/", follow=True)
    assert response.redirect_chain == [("/report/", 302)]
    assert "you've been added" in text(response)


def test_me_too_on_a_ticket_that_is_not_a_known_incident(desk: Hospital) -> None:
    private = open_ticket(desk.nurse)
    response = client_for(desk.outsider).post(
        f"/report/known/{private.pk}/affected/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # htmx swaps only 2xx: the refusal replaces the button
    assert f"no open, known incident {private.pk}" in text(response)
    assert not AffectedPerson.objects.exists()
    assert client_for(desk.outsider).get(f"/report/known/{private.pk}/affected/").status_code == 405


# --- PHI warning and suggestions ----------------------------------------------------------


def test_check_fragment_warns_of_phi_without_echoing_it(desk: Hospital) -> None:
    response = client_for(desk.nurse).post(
        "/report/check/",
        {
            "title": "Can't scan",
            "description": "Patient MRN 12345678, DOB 01/02/1950",
            "service": "",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    words = text(response)
    assert "This looks like it contains an MRN and a date of birth." in words
    assert "12345678" not in html(response)
    assert "1950" not in html(response)


def test_check_fragment_is_empty_for_ordinary_text_and_not_a_get(desk: Hospital) -> None:
    client = client_for(desk.nurse)
    response = client.post("/report/check/", {"title": "Printer jams", "description": ""})
    assert html(response).strip() == ""
    assert client.get("/report/check/", {"title": "MRN 12345678"}).status_code == 405


def test_check_fragment_shows_suggestions_from_the_knowledge_base(desk: Hospital) -> None:
    seen: list[tuple[str, str | None]] = []

    def provider(text: str, service: str | None) -> list[Suggestion]:
        seen.append((text, service))
        return [Suggestion("Restart the wristband scanner", "/kb/12/", "Hold power for 10 s.")]

    assert suggestions.suggest("scanner beeps", "BCMA") == []
    suggestions.register(provider)
    try:
        response = client_for(desk.nurse).post(
            "/report/check/", {"title": "Scanner beeps", "description": "", "service": "EHR"}
        )
    finally:
        suggestions.unregister(provider)
    assert seen == [("Scanner beeps", "EHR")]
    fragment = html(response)
    assert 'href="/kb/12/"' in fragment
    assert "Restart the wristband scanner" in fragment
    assert "Hold power for 10 s." in fragment
    assert suggestions.suggest("scanner beeps", None) == []


def test_suggest_ignores_short_text_and_repeats(desk: Hospital) -> None:
    def twice(text: str, service: str | None) -> list[Suggestion]:
        return [Suggestion("A", "/kb/1/"), Suggestion("A again", "/kb/1/")] + [
            Suggestion(str(i), f"/kb/{i + 2}/") for i in range(10)
        ]

    suggestions.register(twice)
    suggestions.register(twice)  # registering again changes nothing
    try:
        assert suggestions.suggest("ab", None) == []
        found = suggestions.suggest("printer is jammed", None)
    finally:
        suggestions.unregister(twice)
    assert [s.url for s in found] == ["/kb/1/", "/kb/2/", "/kb/3/", "/kb/4/", "/kb/5/"]


# --- the ticket page ------------------------------------------------------------------------


def test_requester_sees_public_replies_but_never_internal_notes(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    lifecycle.add_comment(desk.agent, ticket.pk, "Swapping the scanner now.")
    lifecycle.add_comment(desk.agent, ticket.pk, "Firmware 2.1 is **known bad**.", public=False)
    nurse_page = html(client_for(desk.nurse).get(f"/tickets/{ticket.pk}/"))
    assert "Swapping the scanner now." in nurse_page
    assert "known bad" not in nurse_page
    assert "Internal note" not in nurse_page
    agent_page = html(client_for(desk.agent).get(f"/tickets/{ticket.pk}/"))
    assert "Swapping the scanner now." in agent_page
    assert "<strong>known bad</strong>" in agent_page  # Markdown rendered
    assert 'class="entry entry-note"' in agent_page
    assert "Internal note" in agent_page


def test_description_is_rendered_safely(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse, description="**Bay 4** <script>alert(1)</script>")
    page = html(client_for(desk.nurse).get(f"/tickets/{ticket.pk}/"))
    assert "<strong>Bay 4</strong>" in page
    assert "<script>alert(1)" not in page


def test_staff_timeline_merges_events_and_comments_in_time_order(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ticket = open_ticket(desk.nurse)
        clock.shift(60)
        lifecycle.add_comment(desk.agent, ticket.pk, "Looking now.")
        clock.shift(60)
        lifecycle.assign(desk.agent, ticket.pk, assignee=desk.engineer)
        clock.shift(60)
        lifecycle.add_comment(
            desk.engineer, ticket.pk, "Swapped it.", public=False, minutes_spent=15
        )
        page = text(client_for(desk.agent).get(f"/tickets/{ticket.pk}/"))
    timeline = page[page.index("Timeline") :]
    order = [
        timeline.index(f"{ticket.number} opened as P2"),
        timeline.index("Looking now."),
        timeline.index(f"{ticket.number} assigned to sam"),
        timeline.index("Swapped it."),
    ]
    assert order == sorted(order)
    assert "15 min" in timeline
    assert "viewed" not in timeline  # reads are in the audit log, not the timeline


def test_reply_and_internal_note_from_the_staff_page(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    client = client_for(desk.agent)
    response = client.post(
        f"/tickets/{ticket.pk}/comment/", {"body": "On my way", "visibility": "public"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"
    client.post(
        f"/tickets/{ticket.pk}/comment/",
        {"body": "Cable was loose", "visibility": "internal", "minutes_spent": "20"},
    )
    reply, note = Comment.objects.order_by("id")
    assert (reply.public, note.public, note.minutes_spent) == (True, False, 20)
    assert Ticket.objects.get(pk=ticket.pk).time_worked_minutes == 20
    follow = client.get(f"/tickets/{ticket.pk}/")
    assert "Internal note added." in text(follow)


def test_comment_errors_are_shown_and_nothing_is_written(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    client = client_for(desk.agent)
    for posted, message in (
        ({"body": "  "}, "Write the reply or note first."),
        ({"body": "x", "minutes_spent": "5000"}, "must be between 0 and 1440 (got 5000)"),
        ({"body": "x", "minutes_spent": "lots"}, "Enter a whole number."),
    ):
        response = client.post(f"/tickets/{ticket.pk}/comment/", posted)
        assert response.status_code == 422, posted
        assert message in text(response)
    assert not Comment.objects.exists()


def test_requester_replies_and_cannot_write_notes(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    client = client_for(desk.nurse)
    client.post(
        f"/tickets/{ticket.pk}/comment/",
        {"body": "It happens on bay 5 too", "visibility": "internal", "minutes_spent": "30"},
    )
    comment = Comment.objects.get()
    assert comment.public is True
    assert comment.minutes_spent == 0
    # Olive cannot reach Maria's ticket at all.
    response = client_for(desk.outsider).post(f"/tickets/{ticket.pk}/comment/", {"body": "hi"})
    assert response.status_code == 404
    assert Comment.objects.count() == 1


def test_resolve_then_requester_confirms_or_reopens(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    agent = client_for(desk.agent)
    refused = agent.post(f"/tickets/{ticket.pk}/resolve/", {"resolution_code": "fixed"})
    assert refused.status_code == 422
    assert "resolution notes are required" in text(refused)
    done = agent.post(
        f"/tickets/{ticket.pk}/resolve/",
        {"resolution_code": "fixed", "resolution_notes": "Replaced the scanner", "version": "1"},
    )
    assert done.status_code == 302
    nurse = client_for(desk.nurse)
    page = text(nurse.get(f"/tickets/{ticket.pk}/"))
    assert "Is it fixed?" in page
    assert "Yes, it's fixed" in page
    assert "No, still broken" in page
    assert "Replaced the scanner" in page
    # A colleague in the same department sees the ticket but is not asked.
    colleague = User.objects.create(
        username="jo", role="requester", department=desk.nurse.department
    )
    assert "Is it fixed?" not in text(client_for(colleague).get(f"/tickets/{ticket.pk}/"))

    version = Ticket.objects.get(pk=ticket.pk).version
    nurse.post(f"/tickets/{ticket.pk}/confirm/", {"answer": "broken", "version": version})
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"
    agent.post(
        f"/tickets/{ticket.pk}/resolve/",
        {"resolution_code": "fixed", "resolution_notes": "Really replaced it"},
    )
    response = nurse.post(f"/tickets/{ticket.pk}/confirm/", {"answer": "fixed"}, follow=True)
    assert "Thank you. The ticket is closed." in text(response)
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"


def test_stale_version_gives_the_conflict_message(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    agent = client_for(desk.agent)
    page = html(agent.get(f"/tickets/{ticket.pk}/"))
    assert re.search(r'<input type="hidden" name="version" value="1"', page)
    lifecycle.assign(desk.engineer, ticket.pk, assignee=desk.engineer)  # someone else, meanwhile
    for path, posted in (
        ("status", {"status": "in_progress", "version": "1"}),
        ("assign", {"assignee": "priya", "queue": "", "version": "1"}),
        ("priority", {"priority": "P1", "reason": "Whole bay", "version": "1"}),
        ("resolve", {"resolution_code": "fixed", "resolution_notes": "x", "version": "1"}),
        ("major", {"version": "1"}),
    ):
        response = agent.post(f"/tickets/{ticket.pk}/{path}/", posted)
        assert response.status_code == 409, path
        assert f"ticket {ticket.number} changed since you read it (your version 1, now 2)" in text(
            response
        )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.priority) == ("assigned", desk.engineer, "P2")
    # The form comes back with what was typed, against the current version: a retry works.
    response = agent.post(
        f"/tickets/{ticket.pk}/status/", {"status": "in_progress", "version": "1"}
    )
    assert response.status_code == 409
    status_form = re.search(r'<form[^>]*id="status-form".*?</form>', html(response), re.S)
    assert status_form is not None
    assert 'name="version" value="2"' in status_form.group(0)
    assert re.search(r'<option value="in_progress" selected>', status_form.group(0))
    retry = agent.post(f"/tickets/{ticket.pk}/status/", {"status": "in_progress", "version": "2"})
    assert retry.status_code == 302


def test_staff_forms_assign_override_link_merge_and_promote(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    outage = _known_outage(desk)
    dup = open_ticket(desk.nurse, title="EHR gone", service="EHR")
    agent = client_for(desk.agent)

    assert (
        agent.post(
            f"/tickets/{ticket.pk}/assign/", {"assignee": "sam", "queue": "DESKTOP"}
        ).status_code
        == 302
    )
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.queue.code if ticket.queue else None) == (
        desk.engineer,
        "DESKTOP",
    )
    bad = agent.post(f"/tickets/{ticket.pk}/assign/", {"assignee": "frank"})
    assert bad.status_code == 422
    assert "frank is not IT staff who can work tickets" in text(bad)
    bad_queue = agent.post(f"/tickets/{ticket.pk}/assign/", {"assignee": "", "queue": "NOPE"})
    assert "no queue has code 'NOPE'" in text(bad_queue)

    no_reason = agent.post(f"/tickets/{ticket.pk}/priority/", {"priority": "P1", "reason": ""})
    assert no_reason.status_code == 422
    assert "a reason is required" in text(no_reason)
    agent.post(f"/tickets/{ticket.pk}/priority/", {"priority": "P1", "reason": "Only scanner"})
    ticket.refresh_from_db()
    assert ticket.priority == "P1"
    assert "Set to P1 by Priya: Only scanner." in text(agent.get(f"/tickets/{ticket.pk}/"))

    assert agent.post(f"/tickets/{outage.pk}/major/", {}).status_code == 302
    assert Ticket.objects.get(pk=outage.pk).is_major
    linked = agent.post(
        f"/tickets/{ticket.pk}/link/", {"kind": "related", "target": outage.number.lower()}
    )
    assert linked.status_code == 302
    assert "Related to" in text(agent.get(f"/tickets/{ticket.pk}/"))
    assert "Related to" in text(agent.get(f"/tickets/{outage.pk}/"))
    bad_link = agent.post(f"/tickets/{ticket.pk}/link/", {"kind": "related", "target": "hello"})
    assert bad_link.status_code == 422
    assert "give a ticket number such as INC-000123" in text(bad_link)

    merged = agent.post(f"/tickets/{dup.pk}/merge/", {"into": outage.number}, follow=True)
    assert "Merged into" in text(merged)
    dup.refresh_from_db()
    assert (dup.status, dup.resolution_code) == ("resolved", "duplicate")
    missing = agent.post(f"/tickets/{ticket.pk}/merge/", {"into": "INC-999999"})
    assert missing.status_code == 422
    assert "no ticket INC-999999 that you may see" in text(missing)


def test_security_assessment_form(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse, kind="security", title="Laptop stolen", care_effect="none")
    manager = client_for(desk.manager)
    page = text(manager.get(f"/tickets/{ticket.pk}/"))
    assert "Security assessment" in page
    refused = manager.post(f"/tickets/{ticket.pk}/security/", {"security_outcome": "nonsense"})
    assert refused.status_code == 422
    assert (
        manager.post(
            f"/tickets/{ticket.pk}/security/",
            {
                "security_outcome": "no_breach",
                "breach_risk": "low",
                "breach_assessment": "Disk encrypted; remote wipe confirmed.",
            },
        ).status_code
        == 302
    )
    ticket.refresh_from_db()
    assert (ticket.security_outcome, ticket.breach_risk) == ("no_breach", "low")
    # An agent without security clearance does not see it at all.
    assert client_for(desk.agent).get(f"/tickets/{ticket.pk}/").status_code == 404


def test_actions_on_a_ticket_one_may_not_see_or_change(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    outsider = client_for(desk.outsider)
    for path in ("status", "resolve", "assign", "priority", "merge", "link", "major", "confirm"):
        assert outsider.post(f"/tickets/{ticket.pk}/{path}/", {}).status_code == 404, path
    auditor = client_for(desk.auditor)
    refused = auditor.post(f"/tickets/{ticket.pk}/status/", {"status": "in_progress"})
    assert refused.status_code == 403
    assert "the auditor role may not" in text(refused)
    nurse = client_for(desk.nurse)
    forbidden = nurse.post(f"/tickets/{ticket.pk}/assign/", {"assignee": "priya"})
    assert forbidden.status_code == 403
    assert client_for(desk.agent).get(f"/tickets/{ticket.pk}/status/").status_code == 405
    assert Ticket.objects.get(pk=ticket.pk).version == 1


def test_links_to_a_security_incident_are_shown_only_to_the_cleared(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    theft = open_ticket(desk.nurse, kind="security", title="Laptop stolen", care_effect="none")
    relations.link(desk.manager, ticket.pk, theft.pk, "related")
    assert theft.number in text(client_for(desk.manager).get(f"/tickets/{ticket.pk}/"))
    agent_page = html(client_for(desk.agent).get(f"/tickets/{ticket.pk}/"))
    assert f'href="/tickets/{theft.pk}/"' not in agent_page
    assert "Laptop stolen" not in agent_page


def test_ticket_page_stays_under_15_queries(
    desk: Hospital, django_assert_max_num_queries: Any
) -> None:
    ticket = open_ticket(desk.nurse)
    for i in range(30):
        lifecycle.add_comment(desk.agent, ticket.pk, f"Reply {i}", public=i % 2 == 0)
        audit.record("ticket.test", actor=desk.agent, obj=ticket, summary=f"Event {i}")
    other = open_ticket(desk.nurse, title="Other")
    relations.link(desk.agent, ticket.pk, other.pk, "related")
    for user in (desk.agent, desk.nurse, desk.manager, desk.auditor):
        client = client_for(user)
        with django_assert_max_num_queries(14):
            response = client.get(f"/tickets/{ticket.pk}/")
        assert response.status_code == 200
    assert "Event 29" in text(client_for(desk.agent).get(f"/tickets/{ticket.pk}/"))


# --- the console ------------------------------------------------------------------------------


def _three(desk: Hospital) -> tuple[Ticket, Ticket, Ticket]:
    p4 = open_ticket(desk.nurse, title="Mouse sticky", care_effect="none", department="NG-IT")
    p1 = open_ticket(desk.nurse, title="Monitor dead", care_effect="blocked")
    p2 = open_ticket(desk.nurse, title="Scanner slow")
    return p1, p2, p4


def _queue_numbers(response: Any) -> list[str]:
    return re.findall(r'<a href="/tickets/\d+/">((?:INC|REQ|SEC)-\d+)</a>', html(response))


def test_console_orders_by_priority_then_time_left(desk: Hospital) -> None:
    p1, p2, p4 = _three(desk)
    response = client_for(desk.agent).get("/desk/")
    assert response.status_code == 200
    assert _queue_numbers(response) == [p1.number, p2.number, p4.number]
    page = html(response)
    assert 'hx-trigger="every 30s' in page
    assert """hx-headers='{"X-CareLine-Background": "1"}'""" in page
    assert 'hx-get="/desk/table/?' in page


def test_console_filters(desk: Hospital) -> None:
    p1, p2, p4 = _three(desk)
    for ticket in (p1, p2, p4):  # round robin gave them out; only p2 is Priya's
        lifecycle.assign(desk.agent, ticket.pk, assignee=desk.agent if ticket == p2 else None)
    lifecycle.change_status(
        desk.agent, p1.pk, "resolved", resolution_code="fixed", resolution_notes="Swapped"
    )
    agent = client_for(desk.agent)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, [p2.number, p4.number]),  # open tickets by default
        ({"status": "all"}, [p2.number, p4.number, p1.number]),  # what is done comes last
        ({"status": "resolved"}, [p1.number]),
        ({"priority": "P4"}, [p4.number]),
        ({"department": "NG-IT"}, [p4.number]),
        ({"site": "RIVER"}, []),
        ({"assignee": "me"}, [p2.number]),
        ({"assignee": "priya"}, [p2.number]),
        ({"q": "mouse"}, [p4.number]),
        ({"q": p2.number}, [p2.number]),
        ({"queue": "SERVICEDESK", "status": "all"}, [p2.number, p4.number, p1.number]),
        ({"service": "EHR"}, []),
    ]
    for params, expected in cases:
        response = agent.get("/desk/", params)
        assert response.status_code == 200, params
        assert _queue_numbers(response) == expected, params
    assert _queue_numbers(agent.get("/desk/", {"assignee": "none"})) == [p4.number]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"priority": "P9"}, "priority"),
        ({"status": "exploded"}, "status"),
        ({"q": "x" * 300}, "q"),
        ({"queue": "Q" * 100}, "queue"),
    ],
)
def test_console_bad_filter_shows_the_error(
    desk: Hospital, params: dict[str, str], field: str
) -> None:
    _three(desk)
    response = client_for(desk.agent).get("/desk/", params)
    assert response.status_code == 422
    assert _queue_numbers(response) == []
    assert f'id="filter_{field}_error"' in html(response)
    table = client_for(desk.agent).get("/desk/table/", params)
    assert table.status_code == 200
    assert "No tickets shown" in text(table)


def test_console_table_fragment_is_background_and_keeps_the_filters(desk: Hospital) -> None:
    p1, _p2, _p4 = _three(desk)
    client = client_for(desk.agent)
    response = client.get(
        "/desk/table/",
        {"priority": "P1"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CARELINE_BACKGROUND="1",
    )
    assert response.status_code == 200
    fragment = html(response)
    assert "<html" not in fragment
    assert "<table" in fragment
    assert _queue_numbers(response) == [p1.number]


def test_console_polling_does_not_count_as_activity(desk: Hospital) -> None:
    client = client_for(desk.agent)
    with time_machine.travel(T0, tick=False) as clock:
        session = client.session
        session[LAST_ACTIVITY_KEY] = int(T0.timestamp())
        session.save()
        clock.shift(5 * 60)
        background = client.get("/desk/table/", headers={"X-CareLine-Background": "1"})
        assert background.status_code == 200
        assert client.session[LAST_ACTIVITY_KEY] == int(T0.timestamp())
        assert client.get("/desk/").status_code == 200
        assert client.session[LAST_ACTIVITY_KEY] == int(T0.timestamp()) + 5 * 60


def test_console_pages_by_50(desk: Hospital) -> None:
    for i in range(52):
        open_ticket(desk.nurse, title=f"Problem {i}", care_effect="none")
    client = client_for(desk.agent)
    assert len(_queue_numbers(client.get("/desk/"))) == 50
    second = client.get("/desk/", {"page": "2"})
    assert len(_queue_numbers(second)) == 2
    assert "Page 2 of 2" in text(second)
    assert client.get("/desk/", {"page": "banana"}).status_code == 200


def test_console_time_left_in_words_and_colour(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        p1 = open_ticket(desk.nurse, care_effect="blocked")  # 4 h to resolve
        client = client_for(desk.agent)
        assert "4 h 00 min" in text(client.get("/desk/"))
        clock.shift(3 * 3600 + 15 * 60)
        page = html(client.get("/desk/"))
        assert re.search(r'class="left left-warn">45 min \(due soon\)<', page)
        clock.shift(3600)
        page = html(client.get("/desk/"))
        assert re.search(r'class="left left-breached">Breached 15 min ago<', page)
    assert p1.priority == "P1"


def test_bulk_assign_and_status_report_each_failure(desk: Hospital) -> None:
    p1, p2, p4 = _three(desk)
    lifecycle.change_status(
        desk.agent, p4.pk, "resolved", resolution_code="fixed", resolution_notes="ok"
    )
    agent = client_for(desk.agent)
    response = agent.post(
        "/desk/bulk/",
        {
            "ticket": [p1.pk, p2.pk, p4.pk, 999999],
            "action": "assign",
            "assignee": "me",
            "query": "priority=P1",
        },
        follow=True,
    )
    assert response.redirect_chain == [("/desk/?priority=P1", 302)]
    words = text(response)
    assert f"2 changed: {p1.number}, {p2.number}." in words
    assert (
        f"Not changed: {p4.number}: ticket {p4.number} is resolved; reopen it to reassign it"
        in words
    )
    assert "Not changed: #999999: no such ticket that you may see" in words
    assert {t.assignee for t in Ticket.objects.filter(pk__in=[p1.pk, p2.pk])} == {desk.agent}

    response = agent.post(
        "/desk/bulk/",
        {"ticket": [p1.pk, p2.pk], "action": "status", "status": "waiting_vendor"},
        follow=True,
    )
    assert f"2 changed: {p1.number}, {p2.number}." in text(response)
    response = agent.post(
        "/desk/bulk/",
        {"ticket": [p1.pk], "action": "status", "status": "waiting_vendor"},
        follow=True,
    )
    assert f"Not changed: {p1.number}: ticket {p1.number} is already waiting_vendor" in text(
        response
    )
    assert set(Ticket.objects.filter(pk__in=[p1.pk, p2.pk]).values_list("status", flat=True)) == {
        "waiting_vendor"
    }


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"action": "assign", "assignee": "me"}, "Tick at least one ticket first."),
        ({"ticket": ["x", "-1", "1" * 40], "action": "assign"}, "Tick at least one ticket first."),
        ({"ticket": ["T"], "action": "explode"}, "action: must be assign or status"),
        ({"ticket": ["T"], "action": "assign", "assignee": "nobody-here"}, "no user is named"),
        ({"ticket": ["T"], "action": "assign"}, "choose whom to assign"),
        ({"ticket": ["T"], "action": "status", "status": "bogus"}, "must be one of new"),
    ],
)
def test_bulk_bad_input_is_reported_not_a_500(
    desk: Hospital, posted: dict[str, Any], message: str
) -> None:
    ticket = open_ticket(desk.nurse)
    if posted.get("ticket") == ["T"]:
        posted = posted | {"ticket": [str(ticket.pk)]}
    response = client_for(desk.agent).post("/desk/bulk/", posted, follow=True)
    assert response.status_code == 200
    assert message in text(response)


def test_bulk_by_an_auditor_changes_nothing(desk: Hospital) -> None:
    ticket = open_ticket(desk.nurse)
    response = client_for(desk.auditor).post(
        "/desk/bulk/", {"ticket": [ticket.pk], "action": "assign", "assignee": "me"}, follow=True
    )
    assert "the auditor role may not assign tickets" in text(response)
    assert Ticket.objects.get(pk=ticket.pk).version == 1


def test_saved_views_create_list_and_delete_own_only(desk: Hospital) -> None:
    _p1, _p2, _p4 = _three(desk)
    agent, engineer = client_for(desk.agent), client_for(desk.engineer)
    response = agent.post(
        "/desk/views/",
        {"name": "  Urgent  ones ", "query": "priority=P1&page=3&evil=1"},
        follow=True,
    )
    assert response.redirect_chain == [("/desk/?priority=P1", 302)]
    view = SavedView.objects.get()
    assert (view.user, view.name, view.filters) == (desk.agent, "Urgent ones", {"priority": ["P1"]})
    assert "Saved the view 'Urgent ones'." in text(response)
    page = html(agent.get("/desk/"))
    assert 'href="/desk/?priority=P1"' in page
    assert "Urgent ones" in page
    assert "Urgent ones" not in html(engineer.get("/desk/"))  # views are personal
    # Saving under the same name replaces the filters.
    agent.post("/desk/views/", {"name": "Urgent ones", "query": "priority=P2"})
    assert SavedView.objects.get().filters == {"priority": ["P2"]}
    empty = agent.post("/desk/views/", {"name": "   ", "query": ""}, follow=True)
    assert "The view was not saved: give the view a name" in text(empty)
    long = agent.post("/desk/views/", {"name": "n" * 101, "query": ""}, follow=True)
    assert "must be at most 100 characters (got 101)" in text(long)

    assert engineer.post(f"/desk/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    assert agent.post(f"/desk/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()
    assert AuditEvent.objects.filter(action="savedview.delete", actor=desk.agent).exists()
