"""Delivery through faults, against real peers: nothing is lost, nothing arrives twice but
what a crash makes unavoidable (and then once more at most, recognisable by its key).

- the SMTP server is stopped for two minutes (the clock driven through them) and started
  again on the same port: every message arrives after it returns, none twice;
- a webhook answers 500 three times, then 200: delivered exactly once;
- a real `careline engine` is killed with SIGKILL mid-dispatch and started again: every
  message is delivered, at most twice;
- PostgreSQL (a private cluster of this test's own) restarts while messages keep being
  enqueued: the engine reconnects by itself and every message arrives.

Bad input tried: a receiver that refuses connections, one that answers 500, a dispatcher that
dies between sending and recording, and a database that drops every connection.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection
from django.utils import timezone

from careline.core import crypto
from careline.core.models import AuditEvent
from careline.oncall import dispatcher
from careline.oncall.models import Notification, Page, WebhookTarget
from careline.oncall.outbox import Email, Message, enqueue, enqueue_email
from tests.oncall import engines
from tests.oncall.receivers import Answer, HttpReceiver, SmtpInbox
from tests.processes import free_port


def dispatch() -> int:
    return async_to_sync(dispatcher.dispatch_once)()


def mail(n: int) -> Email:
    return Email(
        to=f"oncall{n}@hospital.example", subject=f"Page {n}", body="EHR down", key=f"m{n}"
    )


# --- in-process, the clock driven by time_machine --------------------------------------------


def test_smtp_down_for_two_minutes_loses_nothing_and_sends_nothing_twice(
    db: None, settings: Any
) -> None:
    inbox = SmtpInbox(free_port()).start()
    settings.SMTP_URL = f"smtp://127.0.0.1:{inbox.port}"
    try:
        for n in range(3):
            enqueue_email(mail(n))
        assert dispatch() == 3
        inbox.stop()  # the server really goes away
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            for n in range(3, 10):
                enqueue_email(mail(n))
            for _ in range(5):  # rounds at 0, 30, 60, 90 and 120 s: all refused
                assert dispatch() == 0
                clock.shift(timedelta(seconds=30))
            waiting = Notification.objects.filter(status="pending")
            assert waiting.count() == 7
            assert all(n.attempts >= 3 for n in waiting)
            assert all("cannot reach 127.0.0.1" in n.last_error for n in waiting)
            assert len(inbox.messages) == 3
            inbox.start()  # back, on the same port
            clock.shift(timedelta(minutes=4))  # past the longest backoff so far
            assert dispatch() == 7
            clock.shift(timedelta(hours=2))
            assert dispatch() == 0
    finally:
        inbox.stop()
    received = inbox.by_message_id()
    assert len(received) == 10
    assert set(received.values()) == {1}
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_webhook_failing_three_times_is_delivered_exactly_once(db: None) -> None:
    answers = [Answer(500, "database locked")] * 3
    with HttpReceiver(answers, default=Answer(200, "ok")) as receiver:
        hook = WebhookTarget.objects.create(
            code="EVENTS",
            name="Event bus",
            kind="webhook",
            url_encrypted=crypto.encrypt(receiver.url("/careline")),
            signing_key_encrypted=crypto.encrypt("whsec-0123456789abcdef"),
            created_at=timezone.now(),
        )
        now = timezone.now()
        incident = Page.objects.create(
            title="EHR down", priority="P1", source="monitoring", storm_until=now, created_at=now
        )
        enqueue(
            Message(
                channel="webhook",
                target=hook,
                subject="[P1] EHR down",
                body="b",
                key="w1",
                page=incident,
            )
        )
        with time_machine.travel(timezone.now(), tick=False) as clock:
            for attempt in (1, 2, 3):
                assert dispatch() == 0
                row = Notification.objects.get()
                assert (row.status, row.attempts) == ("pending", attempt)
                assert dispatch() == 0  # not before its backoff
                clock.shift(dispatcher.backoff(attempt))
            assert dispatch() == 1
            clock.shift(timedelta(hours=2))
            assert dispatch() == 0
    assert [r.status for r in receiver.received] == [500, 500, 500, 200]
    assert {r.key for r in receiver.received} == {"w1"}  # every attempt, the same key
    assert receiver.delivered() == {"w1": 1}
    row = Notification.objects.get()
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert (
        AuditEvent.objects.filter(action="oncall.delivered", object_id=str(incident.pk)).count()
        == 1
    )


# --- real engine processes --------------------------------------------------------------------


@pytest.fixture
def processes() -> Iterator[list[engines.Running]]:
    started: list[engines.Running] = []
    yield started
    for running in started:
        running.stop()


def seed_webhooks(env: dict[str, str], url: str, count: int) -> int:
    """A signed-webhook target and `count` messages to it, written straight to the engine's
    database (as its own enqueue would: committed, due now)."""
    now = engines.stamp(env, timezone.now())
    active = True if "DATABASE_URL" in env else 1
    engines.sql(
        env,
        "INSERT INTO oncall_webhooktarget (code, name, kind, url_encrypted, "
        "signing_key_encrypted, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("BUS", "Event bus", "webhook", crypto.encrypt(url), crypto.encrypt("k" * 24), active, now),
    )
    [(target_id,)] = engines.sql(env, "SELECT id FROM oncall_webhooktarget WHERE code = 'BUS'")
    for n in range(count):
        engines.sql(
            env,
            'INSERT INTO oncall_notification (channel, "to", target_id, subject, body, headers, '
            "idempotency_key, status, attempts, next_attempt_at, last_error, object_type, "
            "object_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "webhook",
                "BUS",
                target_id,
                f"Event {n}",
                "b",
                "{}",
                f"k{n}",
                "pending",
                0,
                now,
                "",
                "",
                "",
                now,
            ),
        )
    return int(target_id)


@pytest.mark.django_db
def test_an_engine_killed_mid_dispatch_delivers_everything_after_a_restart(
    migrated_template: str, tmp_path: Path, processes: list[engines.Running]
) -> None:
    count = 100
    # The receiver takes 30 ms a message, four at a time: the dispatch lasts most of a
    # second, and the kill lands in the middle of it.
    with (
        HttpReceiver(delay_s=0.03) as receiver,
        engines.engine_env(migrated_template, tmp_path / "data", "kill") as env,
    ):
        target_id = seed_webhooks(env, receiver.url("/events"), count)
        first = engines.careline(env, "engine", "--no-migrate")
        processes.append(first)
        engines.until("a fifth delivered", lambda: len(receiver.delivered()) >= count // 5, 60)
        first.stop()
        taken_before = len(receiver.delivered())
        assert taken_before < count, "the engine finished before it could be killed"
        second = engines.careline(env, "engine", "--no-migrate")
        processes.append(second)
        engines.until("every message", lambda: len(receiver.delivered()) == count, 60)
        engines.until(
            "every row marked sent",
            lambda: (
                engines.sql(
                    env,
                    "SELECT COUNT(*) FROM oncall_notification WHERE target_id = ? AND status = 'sent'",
                    (target_id,),
                )
                == [(count,)]
            ),
            30,
        )
        second.stop(signal.SIGTERM)
    delivered = receiver.delivered()
    assert set(delivered) == {f"k{n}" for n in range(count)}
    assert max(delivered.values()) <= 2  # a send cut short by the kill goes once more at most


PRODUCER = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
django.setup()
from django.db import connection, transaction
from django.db.utils import InterfaceError, OperationalError
from careline.oncall.outbox import Email, enqueue_email

count, pause = int(sys.argv[1]), float(sys.argv[2])
for n in range(count):
    while True:
        try:
            with transaction.atomic():
                enqueue_email(Email(to=f"oncall{n}@hospital.example", subject=f"Page {n}",
                                    body="EHR down", key=f"restart:{n}"))
            break
        except (OperationalError, InterfaceError):
            # The database is restarting: the cause is tried again, as a caller would; the
            # idempotency key keeps a commit that did land from being written twice.
            connection.close()
            time.sleep(0.05)
    print(n, flush=True)
    time.sleep(pause)
"""


@pytest.mark.django_db
def test_postgresql_restarting_under_load_loses_nothing(
    tmp_path: Path, processes: list[engines.Running]
) -> None:
    bin_dir = engines.postgres_bin()
    if bin_dir is None:
        pytest.skip("the PostgreSQL server programs (initdb, pg_ctl) are not installed")
    if connection.vendor != "postgresql":
        pytest.skip("runs with the PostgreSQL suite, whose migrated database it copies")
    count = 120
    cluster = engines.PrivateCluster(bin_dir, free_port()).start()
    inbox = SmtpInbox(free_port()).start()
    try:
        cluster.load_from_test_database("careline")
        env = {
            **engines.base_env(tmp_path / "data"),
            "DATABASE_URL": cluster.url("careline"),
            "CARELINE_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}",
        }
        engine = engines.careline(env, "engine", "--no-migrate")
        processes.append(engine)
        producer = subprocess.Popen(
            [sys.executable, "-c", PRODUCER, str(count), "0.02"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        enqueued: list[str] = []
        reader = threading.Thread(
            target=lambda: enqueued.extend(line.strip() for line in producer.stdout or []),
            daemon=True,
        )
        reader.start()
        try:
            engines.until(
                "a third enqueued and the first delivered",
                lambda: len(enqueued) >= count // 3 and inbox.messages,
                60,
            )
            assert len(enqueued) < count, "the producer finished before the restart"
            cluster.restart()
            assert producer.wait(timeout=60) == 0, producer.stderr.read() if producer.stderr else ""
        finally:
            if producer.poll() is None:
                producer.kill()
        reader.join(10)
        assert len(enqueued) == count
        engines.until("every message", lambda: len(inbox.by_message_id()) == count, 60)
        assert engine.alive(), engine.log_text()  # it reconnected by itself
        # The restart really cut the engine off: its rounds failed, then went on.
        assert "outbox round failed" in engine.log_text()
        received = inbox.by_message_id()
        assert max(received.values()) <= 2
        # A message reaches the receiver a moment before its row says so.
        engines.until(
            "every row marked sent",
            lambda: (
                engines.sql(
                    env,
                    "SELECT status, COUNT(*) FROM oncall_notification "
                    "WHERE idempotency_key LIKE ? GROUP BY status",
                    ("restart:%",),
                )
                == [("sent", count)]
            ),
            30,
        )
        engine.stop(signal.SIGTERM)
    finally:
        inbox.stop()
        cluster.stop()
