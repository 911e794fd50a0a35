"""The dead letters, through the API and the outbox page: listing (filters, pages, never a
webhook's URL), sending a dead or cancelled message again (audited, then really delivered),
and who may do it.

Bad input tried: retrying a sent or waiting message (409), an unknown id (404), a requester,
an agent and an auditor (403), no credentials (401), unknown status and channel values, page
and paging numbers out of range (422, naming the field), and a GET on the retry button's URL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from careline.core import crypto
from careline.core.models import AuditEvent
from careline.oncall import dispatcher
from careline.oncall.models import Notification, Page, WebhookTarget
from careline.oncall.outbox import Message, enqueue
from tests.conftest import Hospital
from tests.oncall.receivers import HttpReceiver

HOOK_TOKEN = "T0001/B0001/verysecrettoken"
HOOK_URL = f"https://hooks.slack.example/services/{HOOK_TOKEN}"


@pytest.fixture
def letters(hospital: Hospital) -> dict[str, Notification]:
    """A dead SMS for Sam on a page, a dead Slack post, a cancelled call, a sent and a
    waiting email; created a minute apart, oldest first."""
    now = timezone.now()
    incident = Page.objects.create(
        title="EHR down", priority="P1", source="monitoring", storm_until=now, created_at=now
    )
    slack = WebhookTarget.objects.create(
        code="IT-SLACK",
        name="IT on-call channel",
        kind="slack",
        url_encrypted=crypto.encrypt(HOOK_URL),
        created_at=now,
    )
    rows = {
        "sms": Message(
            channel="sms",
            to="+15551230002",
            subject="[P1] EHR down",
            body="b",
            key="page:sms",
            page=incident,
            page_level=0,
            recipient=hospital.engineer,
        ),
        "slack": Message(channel="slack", target=slack, subject="[P1] EHR down", body="b", key="s"),
        "call": Message(
            channel="voice", to="+15551230002", subject="[P1] EHR down", body="b", key="c"
        ),
        "sent": Message(channel="email", to="sam@h.example", subject="Sent", body="b", key="e1"),
        "waiting": Message(channel="email", to="sam@h.example", subject="Wait", body="b", key="e2"),
    }
    for n, message in enumerate(rows.values()):
        enqueue(message)
        Notification.objects.filter(idempotency_key=message.key).update(
            created_at=now - timedelta(minutes=10 - n)
        )
    status = {
        "page:sms": ("dead", 1, "refused: gateway answered HTTP 400: not a mobile number"),
        "s": ("dead", 12, f"hooks.slack.example answered HTTP 503: down at {HOOK_URL}"[:60]),
        "c": ("cancelled", 0, ""),
        "e1": ("sent", 1, ""),
    }
    for key, (state, attempts, error) in status.items():
        Notification.objects.filter(idempotency_key=key).update(
            status=state, attempts=attempts, last_error=error
        )
    by_key = {n.idempotency_key: n for n in Notification.objects.all()}
    return {name: by_key[message.key] for name, message in rows.items()}


# --- the API ----------------------------------------------------------------------------------


def test_the_dead_letter_list_newest_first_without_urls(
    api_as: Any, hospital: Hospital, letters: dict[str, Notification]
) -> None:
    answer = api_as(hospital.engineer).get("/notifications", status="dead")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2
    slack, sms = body["items"]
    assert (slack["id"], sms["id"]) == (letters["slack"].pk, letters["sms"].pk)
    assert slack["target"] == "IT-SLACK"
    assert slack["to"] == "IT-SLACK"
    assert sms["recipient"] == "sam"
    assert sms["page"] == letters["sms"].page_id
    assert sms["last_error"] == "refused: gateway answered HTTP 400: not a mobile number"
    assert HOOK_TOKEN not in answer.content.decode()
    everything = api_as(hospital.engineer).get("/notifications", limit=500).content.decode()
    assert HOOK_TOKEN not in everything
    assert "hooks.slack.example/services" not in everything


def test_filters_and_pages(
    api_as: Any, hospital: Hospital, letters: dict[str, Notification]
) -> None:
    sam = api_as(hospital.engineer)
    assert sam.get("/notifications").json()["count"] == 5
    assert [n["id"] for n in sam.get("/notifications", channel="email").json()["items"]] == [
        letters["waiting"].pk,
        letters["sent"].pk,
    ]
    on_page = sam.get("/notifications", page=letters["sms"].page_id).json()
    assert [n["id"] for n in on_page["items"]] == [letters["sms"].pk]
    second = sam.get("/notifications", limit=2, offset=2).json()
    assert second["count"] == 5
    assert [n["id"] for n in second["items"]] == [letters["call"].pk, letters["slack"].pk]
    assert sam.get("/notifications", status="cancelled").json()["items"][0]["id"] == (
        letters["call"].pk
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"page": 0}, "page"),
        ({"page": "first"}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"channel": "sms\x00"}, "channel"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    api_as: Any, hospital: Hospital, params: dict[str, Any], field: str
) -> None:
    answer = api_as(hospital.engineer).get("/notifications", **params)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field


def test_listing_costs_the_same_few_queries_for_many_rows(
    api_as: Any,
    hospital: Hospital,
    letters: dict[str, Notification],
    django_assert_max_num_queries: Any,
) -> None:
    target = WebhookTarget.objects.get()
    for n in range(40):
        enqueue(Message(channel="slack", target=target, subject="s", body="b", key=f"many{n}"))
    sam = api_as(hospital.engineer)
    with django_assert_max_num_queries(6):
        answer = sam.get("/notifications", limit=100)
    assert answer.json()["count"] == 45


def test_retry_puts_a_dead_letter_back_and_records_who(
    api_as: Any, hospital: Hospital, letters: dict[str, Notification]
) -> None:
    dead = letters["slack"]
    answer = api_as(hospital.engineer).post(f"/notifications/{dead.pk}/retry")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["attempts"]) == ("pending", 0)
    again = Notification.objects.get(pk=dead.pk)
    assert (again.status, again.attempts, again.last_error) == ("pending", 0, "")
    assert again.next_attempt_at <= timezone.now()
    event = AuditEvent.objects.get(action="oncall.notification_retried")
    assert (event.actor_name, event.object_id) == ("sam", str(dead.pk))
    assert event.before["status"] == "dead"
    assert event.before["attempts"] == 12
    assert HOOK_TOKEN not in json.dumps([event.summary, event.before, event.after])
    # A withdrawn step may be sent after all, by hand.
    call = api_as(hospital.manager).post(f"/notifications/{letters['call'].pk}/retry")
    assert call.json()["status"] == "pending"


@pytest.mark.parametrize(("letter", "status"), [("sent", 409), ("waiting", 409), (None, 404)])
def test_only_a_dead_or_cancelled_message_can_be_retried(
    api_as: Any,
    hospital: Hospital,
    letters: dict[str, Notification],
    letter: str | None,
    status: int,
) -> None:
    pk = letters[letter].pk if letter else 999_999
    answer = api_as(hospital.engineer).post(f"/notifications/{pk}/retry")
    assert answer.status_code == status
    if letter:
        assert answer.json()["field"] == "status"
        assert "only a dead or cancelled one can be sent again" in answer.json()["detail"]
    else:
        assert answer.json()["detail"] == f"id: no notification has id {pk}"
    assert not AuditEvent.objects.filter(action="oncall.notification_retried").exists()


@pytest.mark.parametrize("who", ["nurse", "agent", "auditor", "outsider"])
def test_only_engineers_and_above_see_or_retry_the_outbox(
    api_as: Any, hospital: Hospital, letters: dict[str, Notification], who: str
) -> None:
    client = api_as(getattr(hospital, who))
    assert client.get("/notifications").status_code == 403
    assert client.post(f"/notifications/{letters['slack'].pk}/retry").status_code == 403
    assert Notification.objects.get(pk=letters["slack"].pk).status == "dead"
    assert api_as(None).get("/notifications").status_code == 401


def test_a_retried_message_is_delivered(
    api_as: Any, hospital: Hospital, letters: dict[str, Notification]
) -> None:
    with HttpReceiver() as receiver:
        WebhookTarget.objects.update(url_encrypted=crypto.encrypt(receiver.url("/hook")))
        api_as(hospital.engineer).post(f"/notifications/{letters['slack'].pk}/retry")
        assert async_to_sync(dispatcher.dispatch_once)() == 1
    assert receiver.delivered() == {"s": 1}
    assert Notification.objects.get(pk=letters["slack"].pk).status == "sent"


# --- the page ---------------------------------------------------------------------------------


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_outbox_page_lists_dead_letters_and_waiting_counts(
    hospital: Hospital, letters: dict[str, Notification]
) -> None:
    page = signed_in(hospital.engineer).get("/oncall/outbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dead letters: 2" in html
    assert html.index(f'data-notification="{letters["slack"].pk}"') < html.index(
        f'data-notification="{letters["sms"].pk}"'
    )
    assert "refused: gateway answered HTTP 400: not a mobile number" in html
    assert "IT on-call channel (IT-SLACK)" in html
    assert f'action="/oncall/outbox/{letters["sms"].pk}/retry/"' in html
    assert "Waiting to be sent: 1" in html
    assert HOOK_TOKEN not in html
    assert f'data-notification="{letters["sent"].pk}"' not in html
    assert 'name="viewport"' in html  # usable at phone width


def test_the_retry_button_sends_a_dead_letter_again(
    hospital: Hospital, letters: dict[str, Notification]
) -> None:
    client = signed_in(hospital.engineer)
    answer = client.post(f"/oncall/outbox/{letters['sms'].pk}/retry/")
    assert answer.status_code == 302
    assert answer["Location"] == "/oncall/outbox/"
    assert Notification.objects.get(pk=letters["sms"].pk).status == "pending"
    html = client.get("/oncall/outbox/").content.decode()
    assert "SMS to +15551230002 will be sent again." in html
    assert "Dead letters: 1" in html
    assert AuditEvent.objects.filter(action="oncall.notification_retried").count() == 1


def test_the_page_refuses_what_the_api_refuses(
    hospital: Hospital, letters: dict[str, Notification]
) -> None:
    sam = signed_in(hospital.engineer)
    sent = sam.post(f"/oncall/outbox/{letters['sent'].pk}/retry/")
    assert sent.status_code == 409
    assert "only a dead or cancelled one can be sent again" in sent.content.decode()
    assert sam.post("/oncall/outbox/999999/retry/").status_code == 404
    assert sam.get(f"/oncall/outbox/{letters['sms'].pk}/retry/").status_code == 405
    for who in (hospital.nurse, hospital.agent):
        client = signed_in(who)
        assert client.get("/oncall/outbox/").status_code == 403
        assert client.post(f"/oncall/outbox/{letters['sms'].pk}/retry/").status_code == 403
    assert Notification.objects.get(pk=letters["sms"].pk).status == "dead"
    assert Client().get("/oncall/outbox/").status_code == 302  # to the sign-in page
