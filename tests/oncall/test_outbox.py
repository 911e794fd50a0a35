"""The outbox: messages written with their cause, delivered by a real SMTP conversation,
retried through an outage, sent once, and given up on only after many tries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from asgiref.sync import async_to_sync
from django.utils import timezone

from careline.env import ImproperSetting
from careline.oncall import dispatcher
from careline.oncall.models import Notification
from careline.oncall.outbox import Email, enqueue_email
from careline.oncall.smtp import SmtpConfig
from tests.processes import free_port


class Inbox:
    """A real SMTP server's mailbox."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
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
        for _ in range(dispatcher.MAX_ATTEMPTS + 2):
            dispatch()
            clock.shift(timedelta(hours=2))
    notification = Notification.objects.get()
    assert notification.status == "dead"
    assert notification.attempts == dispatcher.MAX_ATTEMPTS


def test_a_claim_belongs_to_one_dispatcher_until_it_lapses(db: None) -> None:
    enqueue_email(_email())
    now = timezone.now()
    assert len(dispatcher.claim_due(now)) == 1
    assert dispatcher.claim_due(now) == []
    # The claimer died mid-send: after the claim lapses another dispatcher sends it.
    later = now + timedelta(seconds=dispatcher.CLAIM_SECONDS + 1)
    assert len(dispatcher.claim_due(later)) == 1


def test_backoff_grows_and_is_capped() -> None:
    assert [dispatcher.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [15, 30, 60, 120]
    assert dispatcher.backoff(30).total_seconds() == 3600


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
