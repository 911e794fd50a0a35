"""The outbox: messages written with their cause, delivered by a real SMTP conversation,
retried through an outage, sent once, and given up on only after many tries; messages of any
channel with their page, recipient and delayed start; a page's delayed steps withdrawn; the
dispatcher's claims, lanes and few statements.

Bad input tried: malformed SMTP URLs, a message on an unknown channel, a chat or webhook
message without a target or with a target of another kind, an SMS with a target, a message
with no address or no key, the same key twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message as MailMessage
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.core import crypto
from careline.env import ImproperSetting
from careline.oncall import dispatcher
from careline.oncall.channels.base import Outcome
from careline.oncall.models import Notification, Page, WebhookTarget
from careline.oncall.outbox import (
    Email,
    Message,
    cancel_for_page,
    enqueue,
    enqueue_email,
    keyed_message_id,
)
from careline.oncall.smtp import SmtpConfig
from tests.oncall.receivers import HttpReceiver
from tests.processes import free_port


class Inbox:
    """A real SMTP server's mailbox."""

    def __init__(self) -> None:
        self.messages: list[MailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port: int, settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    settings.SMTP_URL = f"smtp://127.0.0.1:{smtp_port}"
    try:
        yield inbox
    finally:
        controller.stop()


def _email(n: int = 1, **kw: Any) -> Email:
    values: dict[str, Any] = {
        "to": f"nurse{n}@hospital.example",
        "subject": f"Ticket {n}",
        "body": "Hello",
        "key": f"test:{n}",
        "thread": f"INC-{n:06d}",
    }
    values.update(kw)
    return Email(**values)


def dispatch() -> int:
    return async_to_sync(dispatcher.dispatch_once)()


def test_enqueue_is_idempotent_per_key(db: None) -> None:
    enqueue_email(_email())
    enqueue_email(_email(subject="changed"))
    assert list(Notification.objects.values_list("subject", flat=True)) == ["Ticket 1"]
    enqueue_email(_email(2, to=""))
    assert Notification.objects.count() == 1


def test_delivery_over_real_smtp_with_threading_headers(db: None, smtp_server: Inbox) -> None:
    enqueue_email(_email())
    assert dispatch() == 1
    [message] = smtp_server.messages
    assert message["To"] == "nurse1@hospital.example"
    assert message["Subject"] == "Ticket 1"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].startswith("<INC-000001.")
    assert message["References"] == "<INC-000001.thread@127.0.0.1>"
    notification = Notification.objects.get()
    assert notification.status == "sent"
    assert notification.sent_at is not None
    assert dispatch() == 0  # nothing twice
    assert len(smtp_server.messages) == 1


def test_an_smtp_outage_delays_but_loses_nothing_and_sends_nothing_twice(
    db: None, smtp_port: int, settings: Any
) -> None:
    settings.SMTP_URL = f"smtp://127.0.0.1:{smtp_port}"
    for n in range(1, 6):
        enqueue_email(_email(n))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        # The server is down for two minutes: every round fails and backs off.
        for _ in range(4):
            assert dispatch() == 0
            clock.shift(timedelta(seconds=30))
        failed = Notification.objects.get(idempotency_key="test:1")
        assert failed.status == "pending"
        assert failed.attempts >= 2
        assert "cannot reach" in failed.last_error
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            clock.shift(timedelta(minutes=2))
            assert dispatch() == 5
            assert dispatch() == 0
        finally:
            controller.stop()
    assert sorted(m["To"] for m in inbox.messages) == [
        f"nurse{n}@hospital.example" for n in range(1, 6)
    ]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_message_that_keeps_failing_goes_to_the_dead_letters(
    db: None, smtp_port: int, settings: Any
) -> None:
    settings.SMTP_URL = f"smtp://127.0.0.1:{smtp_port}"
    enqueue_email(_email())
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(settings.OUTBOX_MAX_ATTEMPTS + 2):
            dispatch()
            clock.shift(timedelta(hours=2))
    notification = Notification.objects.get()
    assert notification.status == "dead"
    assert notification.attempts == settings.OUTBOX_MAX_ATTEMPTS


def test_a_claim_belongs_to_one_dispatcher_until_it_lapses(db: None, settings: Any) -> None:
    enqueue_email(_email())
    now = timezone.now()
    assert len(dispatcher.claim_due(now)) == 1
    assert dispatcher.claim_due(now) == []
    # The claimer died mid-send: after the claim lapses another dispatcher sends it.
    later = now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS + 1)
    assert len(dispatcher.claim_due(later)) == 1


def test_backoff_grows_and_is_capped(settings: Any) -> None:
    assert [dispatcher.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [15, 30, 60, 120]
    assert dispatcher.backoff(30).total_seconds() == 3600
    assert dispatcher.backoff(500).total_seconds() == 3600
    settings.OUTBOX_BACKOFF_BASE_MS = 200
    assert [dispatcher.backoff(n).total_seconds() for n in (1, 2, 3)] == [0.2, 0.4, 0.8]


def test_no_smtp_configured_leaves_messages_waiting(db: None, settings: Any) -> None:
    settings.SMTP_URL = ""
    enqueue_email(_email())
    assert dispatch() == 0
    assert Notification.objects.get().status == "pending"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.hospital.internal", ("relay.hospital.internal", 25, "starttls", "")),
        (
            "smtp://svc%40h:p%3Ass@mail.example:587?starttls=require",
            ("mail.example", 587, "require-starttls", "svc@h"),
        ),
        ("smtps://mail.example", ("mail.example", 465, "implicit", "")),
        ("smtp://127.0.0.1:2525?starttls=0", ("127.0.0.1", 2525, "none", "")),
    ],
)
def test_smtp_urls(url: str, expected: tuple[str, int, str, str]) -> None:
    config = SmtpConfig.from_url(url)
    assert (config.host, config.port, config.tls, config.username) == expected


@pytest.mark.parametrize(
    "url", ["http://mail.example", "smtp://", "mail.example:25", "smtp://host:port"]
)
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ImproperSetting, match="CARELINE_SMTP_URL"):
        SmtpConfig.from_url(url)


# --- messages of any channel ------------------------------------------------------------------


def _page(title: str = "EHR down") -> Page:
    now = timezone.now()
    return Page.objects.create(
        title=title, priority="P1", source="monitoring", storm_until=now, created_at=now
    )


def _target(kind: str, url: str, code: str) -> WebhookTarget:
    return WebhookTarget.objects.create(
        code=code,
        name=code,
        kind=kind,
        url_encrypted=crypto.encrypt(url),
        signing_key_encrypted=crypto.encrypt("k" * 20) if kind == "webhook" else "",
        created_at=timezone.now(),
    )


def _sms(key: str, page: Page | None = None, **kw: Any) -> Message:
    values: dict[str, Any] = {
        "channel": "sms",
        "to": "+15551230002",
        "subject": "[P1] EHR down",
        "body": "b",
        "key": key,
        "page": page,
    }
    return Message(**{**values, **kw})


def test_a_message_keeps_its_page_recipient_and_level_and_waits_for_its_time(
    hospital: Any,
) -> None:
    incident = _page()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        enqueue(
            _sms(
                "page:1:call",
                page=incident,
                page_level=2,
                recipient=hospital.engineer,
                about=incident,
                not_before=start + timedelta(minutes=2),
            )
        )
        enqueue(_sms("page:1:call", body="a repeat is dropped"))
        stored = Notification.objects.get()
        assert (stored.page_id, stored.page_level, stored.recipient_id) == (
            incident.pk,
            2,
            hospital.engineer.pk,
        )
        assert (stored.object_type, stored.object_id) == ("oncall.page", str(incident.pk))
        assert stored.next_attempt_at == start + timedelta(minutes=2)
        assert dispatcher.claim_due(timezone.now()) == []  # "call after 2 minutes unanswered"
        clock.shift(timedelta(minutes=2))
        assert [n.pk for n in dispatcher.claim_due(timezone.now())] == [stored.pk]


def test_a_not_before_in_the_past_means_now(db: None) -> None:
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        enqueue(_sms("late", not_before=now - timedelta(hours=1)))
    assert Notification.objects.get().next_attempt_at == now


def test_mail_carries_a_message_id_fixed_by_its_key_through_a_resend(
    db: None, smtp_server: Inbox, settings: Any
) -> None:
    enqueue_email(_email(thread=""))
    enqueue(Message(channel="email", to="sam@hospital.example", subject="s", body="b", key="m:2"))
    stored = dict(Notification.objects.values_list("idempotency_key", "headers"))
    assert stored["test:1"]["Message-ID"] == keyed_message_id("test:1")
    assert stored["m:2"]["Message-ID"] == keyed_message_id("m:2")
    # A dispatcher claims and dies before recording: after the claim lapses the mail goes
    # again, and the receiver sees the same Message-ID both times.
    now = timezone.now()
    assert dispatch() == 2
    Notification.objects.update(status="sending", claimed_until=now)
    with time_machine.travel(now + timedelta(seconds=1), tick=False):
        assert dispatch() == 2
    ids = sorted(str(m["Message-ID"]) for m in smtp_server.messages)
    assert ids == sorted([keyed_message_id("test:1")] * 2 + [keyed_message_id("m:2")] * 2)


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"channel": "pigeon"}, "channel must be one of"),
        ({"channel": "slack"}, "a slack message needs a target"),
        ({"channel": "teams", "target": "slack"}, "is a slack target, not teams"),
        ({"channel": "sms", "target": "slack"}, "goes to an address, not a target"),
        ({"channel": "voice", "to": ""}, "needs an address"),
        ({"channel": "sms", "key": ""}, "key must not be empty"),
    ],
)
def test_a_message_no_dispatcher_could_send_is_refused(
    db: None, fields: dict[str, Any], complaint: str
) -> None:
    values: dict[str, Any] = {"to": "+15551230002", "subject": "s", "body": "b", "key": "k"}
    values.update(fields)
    if values.get("target") == "slack":
        values["target"] = _target("slack", "https://hooks.slack.example/x", "SLACK")
    with pytest.raises(ValueError, match=complaint):
        enqueue(Message(**values))
    assert not Notification.objects.exists()


def test_cancel_for_page_withdraws_only_its_untried_waiting_messages(db: None) -> None:
    incident, other = _page(), _page("Printer down")
    later = timezone.now() + timedelta(minutes=2)
    enqueue(_sms("now", page=incident))
    enqueue(_sms("delayed", page=incident, not_before=later))
    enqueue(_sms("tried", page=incident))
    enqueue(_sms("sending", page=incident))
    enqueue(_sms("sent", page=incident))
    enqueue(_sms("other page", page=other))
    enqueue_email(_email())  # belongs to no page
    Notification.objects.filter(idempotency_key="tried").update(attempts=1)
    Notification.objects.filter(idempotency_key="sending").update(status="sending")
    Notification.objects.filter(idempotency_key="sent").update(status="sent")
    assert cancel_for_page(incident.pk) == 2
    assert dict(Notification.objects.values_list("idempotency_key", "status")) == {
        "now": "cancelled",
        "delayed": "cancelled",
        "tried": "pending",  # it may have reached someone already: it goes on
        "sending": "sending",
        "sent": "sent",
        "other page": "pending",
        "test:1": "pending",
    }
    assert cancel_for_page(incident.pk) == 0  # nothing left to withdraw
    claimed = {n.idempotency_key for n in dispatcher.claim_due(timezone.now())}
    assert "tried" in claimed
    assert not claimed & {"now", "delayed"}


# --- the dispatcher -----------------------------------------------------------------------------


def test_outcomes_are_written_in_a_few_statements_whatever_their_number(db: None) -> None:
    for n in range(45):
        enqueue(_sms(f"m{n}"))
    claimed = dispatcher.claim_due(timezone.now(), limit=100)
    assert len(claimed) == 45
    outcomes = [Outcome.delivered(n) for n in claimed[:30]]
    outcomes += [Outcome.failed(n, "HTTP 503") for n in claimed[30:40]]
    outcomes += [Outcome.not_attempted(n) for n in claimed[40:]]
    with CaptureQueriesContext(connection) as queries:
        dispatcher.record_outcomes(outcomes, {n.pk: n.attempts for n in claimed})
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3
    assert len(queries.captured_queries) <= 6  # with the savepoint and the audit look-up
    counts = dict(
        Notification.objects.values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    assert counts == {"sent": 30, "pending": 15}
    assert Notification.objects.filter(attempts=1).count() == 10  # given back: no attempt


def test_one_slow_receiver_does_not_hold_up_the_others(db: None, settings: Any) -> None:
    settings.OUTBOX_PER_RECEIVER = 2
    settings.OUTBOX_CONCURRENCY = 10
    with HttpReceiver() as slow, HttpReceiver() as quick:
        slow.gate = threading.Event()
        stuck = _target("slack", slow.url("/hook"), "SLOW")
        fine = _target("slack", quick.url("/hook"), "QUICK")
        # The slow receiver's messages are older: first in line for every claim.
        for n in range(5):
            enqueue(Message(channel="slack", target=stuck, subject="s", body="b", key=f"slow{n}"))
        for n in range(3):
            enqueue(Message(channel="slack", target=fine, subject="s", body="b", key=f"quick{n}"))

        async def scenario() -> None:
            work = dispatcher.Dispatcher()
            try:
                while len(quick.delivered()) < 3:
                    await work.round()
                    await asyncio.wait_for(work.woken.wait(), 10)
                    work.woken.clear()
                assert slow.received == []  # all still held by the slow receiver
                slow.gate.set()
                while len(slow.delivered()) < 5:
                    await work.round()
                    await asyncio.wait_for(work.woken.wait(), 10)
                    work.woken.clear()
                await work.drain()
            finally:
                await work.close()

        async_to_sync(scenario)()
    assert slow.most_at_once == 2  # never more than its share at once
    assert set(slow.delivered().values()) == {1}
    assert set(quick.delivered().values()) == {1}
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 0)}


def test_postgresql_claims_skip_rows_another_engine_holds(
    django_db_setup: None, django_db_blocker: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; on SQLite one engine dispatches")
    # Committed rows, seen by two connections: outside the usual test transaction (the audit
    # trail refuses the TRUNCATE a transactional test ends with), removed by hand.
    with django_db_blocker.unblock():
        try:
            _claims_skip_locked_rows()
        finally:
            Notification.objects.filter(idempotency_key__startswith="skip:").delete()


def _claims_skip_locked_rows() -> None:
    for n in range(3):
        enqueue(_sms(f"skip:{n}"))
    first = Notification.objects.filter(idempotency_key="skip:0").get()
    holding, release = threading.Event(), threading.Event()

    def other_engine() -> None:
        # Another engine, mid-claim: it holds the oldest row's lock in its transaction.
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=first.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_engine)
    thread.start()
    try:
        assert holding.wait(10)
        claimed = dispatcher.claim_due(timezone.now())  # does not wait for the lock
        assert sorted(n.idempotency_key for n in claimed) == ["skip:1", "skip:2"]
    finally:
        release.set()
        thread.join()
    assert [n.idempotency_key for n in dispatcher.claim_due(timezone.now())] == ["skip:0"]
