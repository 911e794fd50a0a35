"""The morning check reaches a real SMTP server: the engine's step records and queues it, the
outbox dispatcher delivers it over an SMTP conversation with aiosmtpd, once."""

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

from careline.core.models import Site
from careline.oncall import dispatcher
from careline.reports.morning import services
from tests.conftest import Hospital
from tests.processes import free_port
from tests.reports.morning_setup import NORTH_CHECK, monitor, ticket


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    received = Inbox()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    settings.SMTP_URL = f"smtp://127.0.0.1:{port}"
    try:
        yield received
    finally:
        controller.stop()


def test_the_morning_check_arrives_by_smtp_once(
    hospital: Hospital, inbox: Inbox, settings: Any
) -> None:
    settings.MORNING_CHECK_TO = ["servicedesk@northgate.example"]
    ticket(
        hospital.nurse,
        NORTH_CHECK - timedelta(hours=4),
        "EHR frozen in resus",
        care_effect="blocked",
    )
    ticket(
        hospital.nurse,
        NORTH_CHECK - timedelta(hours=3),
        "Badge stolen with door codes",
        kind="security",
        phi_breach_suspected=True,
    )
    monitor("EHR database", "down", department="NG-IT", service="EHR", error="refused")
    at = NORTH_CHECK + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        services.run_due(at)
        services.run_due(at + timedelta(seconds=30))  # a second tick, or a second engine
    north = Site.objects.get(code="NORTH")
    # The check, and the night shift's handover (its end is 07:00 too).
    assert async_to_sync(dispatcher.dispatch_once)() == 2
    assert async_to_sync(dispatcher.dispatch_once)() == 0
    [mail] = [m for m in inbox.messages if m["Subject"].startswith("Morning check")]
    [handover] = [m for m in inbox.messages if m["Subject"].startswith("Handover")]
    assert "EHR frozen in resus" in handover.get_payload(decode=True).decode()
    assert mail["To"] == "servicedesk@northgate.example"
    assert mail["Subject"].startswith(f"Morning check, {north.name}, Tue 10 Mar: ")
    assert "1 service down" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    for section in (
        "CLINICAL SERVICES",
        "MONITORS DOWN OR DEGRADED: 1 down, 0 degraded",
        "BACKUPS AGAINST THEIR RPO",
        "OVERNIGHT INCIDENTS AND P1/P2 TICKETS: 1",
        "SLA BREACHES OVERNIGHT",
        "EXPIRING WITHIN 30 DAYS",
        "CHANGES SCHEDULED TODAY",
        "ON CALL",
    ):
        assert section in body
    assert "EHR frozen in resus" in body
    assert "EHR database" in body
    assert "Badge stolen" not in body
    assert "/morning/?site=NORTH" in body
