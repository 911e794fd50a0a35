"""Mail to the desk: new tickets, replies, attachments; auto-replies, bounces and strangers kept out.

The reading rules are tested as plain functions. The decisions that touch the database are
tested in-process on the test database. The listener itself is a real `careline mail_intake`
subprocess on a database of its own (loaded with the demo hospital, whose people have
addresses `<username>@demo-hospital.example`), spoken to by a real SMTP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.utils import timezone

from careline.core import audit, services
from careline.core.models import AuditEvent
from careline.env import ImproperSetting
from careline.servicedesk.mail import intake, reading
from careline.servicedesk.mail.intake import IntakeSettings, Outcome
from careline.servicedesk.mail.listener import DeskHandler, serve
from careline.servicedesk.models import Attachment, Ticket
from careline.servicedesk.services.tickets import create_ticket
from tests.conftest import Hospital
from tests.processes import database_copy, free_port, wait_for
from tests.servicedesk.conftest import draft

DESK = "servicedesk@careline.example"
NURSE = "nurse.ed@demo-hospital.example"  # Maria, ED at Northgate
CLERK = "clerk.w4@demo-hospital.example"  # Tom, ward clerk on Ward 4: cannot see the ED's tickets
NUMBER = re.compile(r"\b(?:INC|REQ|SEC)-\d{6}\b")


def mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = DESK
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def wire(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


# --- reading mail, no database --------------------------------------------------------------


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert IntakeSettings.from_env() == IntakeSettings()
    assert IntakeSettings().desk_addresses == {"servicedesk@localhost"}
    monkeypatch.setenv("CARELINE_MAIL_DESK_ADDRESSES", "ServiceDesk@Hospital.org, it@hospital.org")
    monkeypatch.setenv("CARELINE_MAIL_ALLOWED_DOMAINS", "Hospital.org")
    monkeypatch.setenv("CARELINE_MAIL_INTAKE_PORT", "2526")
    config = IntakeSettings.from_env()
    assert config.desk_addresses == {"servicedesk@hospital.org", "it@hospital.org"}
    assert config.allowed_domains == {"hospital.org"}
    assert config.port == 2526
    assert config.is_desk_address("<SERVICEDESK@hospital.org>")
    monkeypatch.setenv("CARELINE_MAIL_MAX_BYTES", "12")
    with pytest.raises(ImproperSetting, match="CARELINE_MAIL_MAX_BYTES"):
        IntakeSettings.from_env()
    monkeypatch.setenv("CARELINE_MAIL_MAX_BYTES", "4096")
    monkeypatch.setenv("CARELINE_MAIL_DESK_ADDRESSES", "servicedesk")
    with pytest.raises(ImproperSetting, match="'servicedesk'"):
        IntakeSettings.from_env()


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Re: [INC-000123] Printer jam", "INC-000123"),
        ("REQ-000045 new starter laptop", "REQ-000045"),
        ("about sec-000007 please", "SEC-000007"),
        ("INC-1234 is too short", None),
        ("XINC-000123 is not a number", None),
        ("Printer jam", None),
    ],
)
def test_ticket_numbers_in_subjects(subject: str, number: str | None) -> None:
    assert reading.number_in_subject(subject) == number


def test_ticket_numbers_in_careline_message_ids() -> None:
    assert reading.number_in_references(["<INC-000123.9f1c2b@careline.example>"]) == "INC-000123"
    assert reading.number_in_references(["<x@y>", "<REQ-000002.thread@careline.example>"]) == (
        "REQ-000002"
    )
    assert reading.number_in_references(["<INC-000123@careline.example>"]) is None
    assert reading.number_in_references(["<CAF=abc@mail.gmail.com>"]) is None


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Still broken.\n\nOn Tue, 24 Nov 2026 at 08:00, CareLine <c@x> wrote:\n> old",
            "Still broken.",
        ),
        (
            "Still broken.\nOn Tue, 24 Nov 2026 at 08:00, CareLine\n<c@x> wrote:\n> old",
            "Still broken.",
        ),
        ("Thanks!\n-----Original Message-----\nFrom: CareLine\nold text", "Thanks!"),
        ("Fixed now.\n> You wrote\n> something\nregards", "Fixed now."),
        ("> quoted first\nthen my answer below", "> quoted first\nthen my answer below"),
        ("No history here.\nTwo lines.", "No history here.\nTwo lines."),
    ],
)
def test_quoted_history_is_cut_from_replies(text: str, kept: str) -> None:
    assert reading.strip_quoted(text) == kept


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto-reply"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, "auto-reply"),
        ({"Auto-Submitted": "no"}, ""),
        ({"Precedence": "bulk"}, "auto-reply"),
        ({"Precedence": "Auto_Reply"}, "auto-reply"),
        ({"Precedence": "first-class"}, ""),
        ({"X-Autoreply": "yes"}, "auto-reply"),
        ({"X-Autorespond": "Out of office"}, "auto-reply"),
        ({"Return-Path": "<>"}, "bounce"),
        ({}, ""),
    ],
)
def test_answering_machines_are_recognised(headers: dict[str, str], reason: str) -> None:
    msg = mail(NURSE, "Out of office", "I am away until Monday.")
    for name, value in headers.items():
        msg[name] = value
    assert reading.ignore_reason(msg) == reason


def test_bounces_are_recognised_by_null_sender_and_report_type() -> None:
    msg = mail("MAILER-DAEMON@hospital.org", "Undelivered", "gone")
    assert reading.ignore_reason(msg, "<>") == "bounce"
    assert reading.ignore_reason(msg, "") == "bounce"
    assert reading.ignore_reason(msg, NURSE) == ""
    msg.make_mixed()
    msg.set_type("multipart/report")
    assert reading.ignore_reason(msg, NURSE) == "bounce"


def test_html_mail_becomes_readable_text() -> None:
    html = (
        "<html><head><title>x</title><style>p {color: red}</style></head><body>"
        "<p>The <b>wristband</b> printer &amp; scanner</p><div>are down&nbsp;again.</div>"
        "<script>alert(1)</script><ul><li>bay 3</li><li>bay 4</li></ul></body></html>"
    )
    assert reading.html_to_text(html) == (
        "The wristband printer & scanner\n\nare down again.\n\nbay 3\n\nbay 4"
    )
    msg = mail(NURSE, "HTML only", "placeholder")
    msg.set_content(html, subtype="html")
    assert reading.parse_mail(wire(msg)).body.startswith("The wristband printer & scanner")


def test_parsing_keeps_attachments_and_skips_inline_pictures() -> None:
    msg = mail(NURSE, "Error screen", "See the screenshot.")
    msg.add_alternative("<p>See the screenshot.<img src='cid:logo'></p>", subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    html_part.add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="../../x.pdf")
    msg.add_attachment(b"MZ", maintype="application", subtype="octet-stream", filename="SETUP.EXE.")
    parsed = reading.parse_mail(wire(msg))
    assert parsed.sender == NURSE
    assert parsed.body == "See the screenshot."
    assert [(a.filename, a.executable) for a in parsed.attachments] == [
        ("x.pdf", False),
        ("SETUP.EXE", True),
    ]
    assert parsed.attachments[0].data == b"%PDF-1.7"


def test_unsafe_and_missing_file_names() -> None:
    assert reading.safe_filename("..\\..\\Windows\\evil.bat", "text/plain", 1) == "evil.bat"
    assert reading.safe_filename(None, "application/pdf", 2) == "attachment-2.pdf"
    assert reading.safe_filename("..", "application/x-unknown", 3) == "attachment-3.bin"
    assert reading.safe_filename("scan of ward 4.png", "image/png", 1) == "scan_of_ward_4.png"
    long = reading.safe_filename("a" * 300 + ".pdf", "application/pdf", 1)
    assert len(long) == 200
    assert long.endswith(".pdf")


def test_titles_from_subjects() -> None:
    assert reading.ticket_title("  ") == "(no subject)"
    assert reading.ticket_title("Printer\n  jam") == "Printer jam"
    title = reading.ticket_title("word " * 100)
    assert len(title) <= 200
    assert title.endswith("word…")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x00\xff not an email at all", "no headers"),
        (b"Subject: nobody\r\n\r\nhello\r\n", "no From header"),
        (b"From: a@x, b@y\r\nSubject: two\r\n\r\nhello\r\n", "exactly one address"),
        (b"From: not an address\r\nSubject: x\r\n\r\nhello\r\n", "not an email address"),
    ],
)
def test_malformed_mail_says_what_is_wrong(raw: bytes, why: str) -> None:
    with pytest.raises(reading.MalformedMail, match=why):
        reading.parse_mail(raw)


# --- decisions on the test database ---------------------------------------------------------

CONFIG = IntakeSettings(desk_addresses=frozenset({DESK}))


@pytest.fixture
def mailbox(desk: Hospital, settings: Any, tmp_path: Path) -> Hospital:
    """The desk's people with addresses, and attachments stored under a scratch directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    for username, user in desk.all().items():
        user.email = f"{user.username}@northgate.example"
        user.save()
        setattr(desk, username, user)
    return desk


def deliver(
    msg: EmailMessage, *, mail_from: str | None = None, config: IntakeSettings = CONFIG
) -> Outcome:
    sender = mail_from if mail_from is not None else msg["From"].addresses[0].addr_spec
    return intake.handle_message(
        wire(msg), mail_from=sender, rcpt_tos=[DESK], config=config, peer="10.1.2.3"
    )


def test_a_reply_from_someone_who_may_not_see_the_ticket_opens_a_new_one(
    mailbox: Hospital, caplog: pytest.LogCaptureFixture
) -> None:
    marias = create_ticket(mailbox.nurse, draft())
    caplog.set_level(logging.INFO, logger="careline.mail")
    outcome = deliver(mail("olive@northgate.example", f"Re: [{marias.number}] me too", "Same here"))
    assert outcome.action == "created"
    assert outcome.ticket != marias.number
    olives = Ticket.objects.get(number=outcome.ticket)
    assert olives.requester == mailbox.outsider
    assert olives.department.code == "RV-W1"
    assert marias.number not in olives.description  # nothing said about a ticket she may not see
    assert f"note='{marias.number} is not visible to the sender'" in caplog.text
    assert not marias.comments.exists()


def test_a_reply_to_a_closed_ticket_opens_a_new_one_saying_so(mailbox: Hospital) -> None:
    old = create_ticket(mailbox.nurse, draft())
    Ticket.objects.filter(pk=old.pk).update(status="closed")
    outcome = deliver(mail("maria@northgate.example", f"Re: [{old.number}] scanner", "It is back."))
    assert outcome.action == "created"
    new = Ticket.objects.get(number=outcome.ticket)
    assert new.description == (
        f"It is back.\n\nSent as a reply to {old.number}, which is closed: opened as a new ticket."
    )


def _resolved(ticket: Ticket, days_ago: int) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        status="resolved", resolved_at=timezone.now() - timedelta(days=days_ago)
    )


def test_the_requester_s_reply_to_a_resolution_reopens_the_ticket(mailbox: Hospital) -> None:
    ticket = create_ticket(mailbox.nurse, draft())
    _resolved(ticket, days_ago=2)
    outcome = deliver(mail("maria@northgate.example", f"Re: [{ticket.number}]", "Still broken."))
    assert (outcome.action, outcome.reason) == ("commented", "reopened")
    assert outcome.reply == f"250 2.0.0 reply added to {ticket.number}, which is open again"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopened_count) == ("in_progress", 1)
    assert ticket.comments.get().body == "Still broken."


def test_someone_else_s_reply_to_a_resolution_is_only_a_comment(mailbox: Hospital) -> None:
    ticket = create_ticket(mailbox.nurse, draft())
    _resolved(ticket, days_ago=1)
    outcome = deliver(mail("priya@northgate.example", f"Re: [{ticket.number}]", "Glad it works."))
    assert (outcome.action, outcome.reason) == ("commented", "reply")
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_a_reply_to_a_long_resolved_ticket_opens_a_new_one(mailbox: Hospital) -> None:
    old = create_ticket(mailbox.nurse, draft())
    _resolved(old, days_ago=8)
    outcome = deliver(mail("maria@northgate.example", f"Re: [{old.number}]", "Broken again."))
    assert outcome.action == "created"
    assert Ticket.objects.get(number=outcome.ticket).description == (
        f"Broken again.\n\nSent as a reply to {old.number}, which was resolved more than 7 "
        "days ago: opened as a new ticket."
    )
    old.refresh_from_db()
    assert old.status == "resolved"
    assert not old.comments.exists()


def test_a_reply_with_a_file_keeps_it_on_the_comment(mailbox: Hospital) -> None:
    ticket = create_ticket(mailbox.nurse, draft())
    msg = mail("maria@northgate.example", f"Re: [{ticket.number}]", "Photo attached.\n> old")
    msg.add_attachment(b"\xff\xd8jpeg", maintype="image", subtype="jpeg", filename="bay4.jpg")
    outcome = deliver(msg, mail_from="bounce-123@northgate.example")
    assert outcome.reply == f"250 2.0.0 reply added to {ticket.number}"
    comment = ticket.comments.get()
    assert comment.body == "Photo attached."
    assert comment.via == "email"
    attachment = Attachment.objects.get()
    assert (attachment.ticket, attachment.comment) == (ticket, comment)
    assert attachment.file.read() == b"\xff\xd8jpeg"
    assert attachment.uploaded_by == mailbox.nurse


def test_mail_is_audited_as_mail(mailbox: Hospital) -> None:
    outcome = deliver(mail("maria@northgate.example", "Monitor flickers", "Bed 2 monitor."))
    ticket = Ticket.objects.get(number=outcome.ticket)
    assert ticket.via == "email"
    assert ticket.priority == "P4"  # email is not for emergencies
    event = AuditEvent.objects.get(action="ticket.create", object_id=str(ticket.pk))
    assert event.actor_name == "maria"
    assert event.request_id.startswith("mail-")
    assert event.ip == "10.1.2.3"


def test_people_the_desk_cannot_place_are_turned_away(mailbox: Hospital) -> None:
    services.create_user(None, username="visitor", role="requester", email="v@northgate.example")
    outcome = deliver(mail("v@northgate.example", "Wifi", "No wifi"))
    assert outcome.reply == "550 5.7.1 no department on your account; use the portal"
    mailbox.nurse.is_active = False
    mailbox.nurse.save()
    assert deliver(mail("maria@northgate.example", "Wifi", "No wifi")).reason == "unknown-sender"
    only_riverside = IntakeSettings(
        desk_addresses=frozenset({DESK}), allowed_domains=frozenset({"riverside.example"})
    )
    refused = deliver(mail("olive@northgate.example", "Wifi", "x"), config=only_riverside)
    assert refused.reason == "sender-domain"
    assert refused.code == 550
    assert deliver(mail("frank@northgate.example", "Wifi", "x")).reason == "forbidden"  # auditor
    assert not Ticket.objects.exists()


def test_a_failure_part_way_leaves_no_ticket_and_no_file(
    mailbox: Hospital, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = audit.record

    def failing_record(action: str, **kwargs: Any) -> Any:
        if action == "ticket.attachment":
            raise RuntimeError("disk on fire")
        return real_record(action, **kwargs)

    monkeypatch.setattr(audit, "record", failing_record)
    msg = mail("maria@northgate.example", "Scan", "attached")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="scan.pdf")
    with pytest.raises(RuntimeError, match="disk on fire"):
        deliver(msg)
    assert not Ticket.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


# --- the listener in this process, without a database ---------------------------------------


@contextlib.contextmanager
def listening(handler_process: Callable[[bytes, str, list[str], str], Outcome]) -> Iterator[int]:
    """`serve()` on a thread of its own, with the database work replaced."""
    config = IntakeSettings(port=free_port(), desk_addresses=frozenset({DESK}), max_bytes=4096)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve(config, stop, handler=DeskHandler(config, handler_process)),),
    )
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", config.port)):
                break
            time.sleep(0.05)
        yield config.port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()


def test_an_unexpected_error_is_a_temporary_failure_and_the_next_message_is_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[bytes] = []

    def process(raw: bytes, mail_from: str, rcpt_tos: list[str], peer: str) -> Outcome:
        seen.append(raw)
        if len(seen) == 1:
            raise RuntimeError("database went away")
        # A reply line must stay one line, whatever the intake puts in it.
        return Outcome("250 2.0.0 INC-000042 opened\r\nX-Injected: 1", "created")

    with listening(process) as port, smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo("sender.test")
        for expected in [
            (451, b"4.3.0 temporary failure"),
            (250, b"2.0.0 INC-000042 opened X-Injected: 1"),
        ]:
            assert smtp.mail(NURSE)[0] == 250
            assert smtp.rcpt(DESK)[0] == 250
            assert smtp.data(wire(mail(NURSE, "Printer", "jammed"))) == expected
    assert len(seen) == 2
    assert "mail failed reason=internal-error" in caplog.text
    assert "RuntimeError: database went away" in caplog.text


# --- the real listener: `careline mail_intake` in a process of its own ----------------------


def _careline(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "careline.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass
class Listener:
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def send(
        self,
        message: EmailMessage | bytes,
        *,
        mail_from: str | None = None,
        to: tuple[str, ...] = (DESK,),
        size: int | None = None,
    ) -> tuple[int, str]:
        """One message over SMTP: the answer to DATA, or the refusal that stopped it sooner."""
        raw = message if isinstance(message, bytes) else wire(message)
        if mail_from is None:
            assert isinstance(message, EmailMessage)
            mail_from = message["From"].addresses[0].addr_spec
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.ehlo("sender.test")
            options = [f"SIZE={size}"] if size is not None else []
            code, text = smtp.mail(mail_from, options)
            if code != 250:
                return code, text.decode()
            answers = [smtp.rcpt(recipient) for recipient in to]
            if all(code != 250 for code, _ in answers):
                return answers[0][0], answers[0][1].decode()
            code, text = smtp.data(raw)
            return code, text.decode()

    def open_ticket(self, subject: str, body: str = "It will not print.") -> str:
        code, text = self.send(mail(NURSE, subject, body))
        assert code == 250, text
        return NUMBER.search(text).group(0)  # type: ignore[union-attr]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """The listener's database read directly, as an operator's psql would."""
        if "DATABASE_URL" in self.env:
            with psycopg.connect(self.env["DATABASE_URL"]) as conn:
                return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]
        path = Path(self.env["CARELINE_DATA_DIR"]) / "careline.sqlite3"
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
            return list(conn.execute(sql.replace("%s", "?"), params).fetchall())

    def ticket(self, number: str) -> dict[str, Any]:
        columns = ("id", "title", "description", "via", "priority", "requester", "department")
        rows = self.query(
            "SELECT t.id, t.title, t.description, t.via, t.priority, u.username, d.code"
            " FROM servicedesk_ticket t JOIN core_user u ON u.id = t.requester_id"
            " JOIN core_department d ON d.id = t.department_id WHERE t.number = %s",
            number,
        )
        return dict(zip(columns, rows[0], strict=True))

    def comments(self, number: str) -> list[tuple[str, str, str, str]]:
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.query(
                "SELECT c.body, c.via, c.message_id, c.author_name FROM servicedesk_comment c"
                " JOIN servicedesk_ticket t ON t.id = c.ticket_id WHERE t.number = %s ORDER BY c.id",
                number,
            )
        ]

    def count_titled(self, title: str) -> int:
        return int(
            self.query("SELECT count(*) FROM servicedesk_ticket WHERE title = %s", title)[0][0]
        )


@pytest.fixture(scope="module")
def scratch_env(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Like tests/conftest.py's scratch_db_env, once for the whole module: one demo load."""
    data_dir = tmp_path_factory.mktemp("mail") / "data"
    with database_copy(migrated_template, data_dir, "mail") as env:
        # Embedding the demo's articles loads the sentence model: the knowledge tests' business,
        # and nothing the desk's mail reads.
        yield {**env, "CARELINE_KB_SEMANTIC": "off"}


def _start(env: dict[str, str], log: Path) -> Listener:
    port = free_port()
    process = _careline(env, log, "mail_intake", "--port", str(port), "--no-migrate")
    listener = Listener(env, port, log, process)
    wait_for("the listener", lambda: "mail-intake listening" in listener.log(), 30)
    return listener


@pytest.fixture(scope="module")
def listener(scratch_env: dict[str, str]) -> Iterator[Listener]:
    subprocess.run(
        [sys.executable, "-m", "careline.cli", "demo"],
        env=scratch_env,
        check=True,
        capture_output=True,
    )
    env = {
        **scratch_env,
        "CARELINE_MAIL_DESK_ADDRESSES": f"{DESK},it@careline.example",
        "CARELINE_MAIL_MAX_BYTES": "65536",
    }
    started = _start(env, Path(scratch_env["CARELINE_DATA_DIR"]) / "mail-intake.log")
    yield started
    with contextlib.suppress(ProcessLookupError):
        os.killpg(started.process.pid, signal.SIGKILL)
    started.process.wait()


def test_mail_to_the_desk_opens_a_ticket(listener: Listener) -> None:
    code, text = listener.send(
        mail(f"Maria Lopez <{NURSE}>", "Wristband printer offline", "Bay 4 printer shows offline.")
    )
    assert code == 250
    number = NUMBER.search(text).group(0)  # type: ignore[union-attr]
    assert text == f"2.0.0 {number} opened"
    ticket = listener.ticket(number)
    assert ticket["title"] == "Wristband printer offline"
    assert ticket["description"] == "Bay 4 printer shows offline."
    assert (ticket["requester"], ticket["department"]) == ("nurse.ed", "NG-ED")
    assert (ticket["via"], ticket["priority"]) == ("email", "P4")  # email is not for emergencies
    assert f"mail created reason=new from={NURSE}" in listener.log()


def test_a_reply_naming_the_ticket_in_its_subject_becomes_a_comment(listener: Listener) -> None:
    number = listener.open_ticket("Label printer jams")
    reply = mail(
        NURSE,
        f"RE: [{number}] Label printer jams",
        "Still jams after the restart.\n\nOn Tue, 24 Nov 2026, CareLine wrote:\n> Try a restart",
        Message_ID="<reply-1@demo-hospital.example>",
    )
    assert listener.send(reply) == (250, f"2.0.0 reply added to {number}")
    assert listener.comments(number) == [
        ("Still jams after the restart.", "email", "<reply-1@demo-hospital.example>", "Maria Lopez")
    ]


def test_a_reply_to_careline_s_own_message_becomes_a_comment(listener: Listener) -> None:
    number = listener.open_ticket("Dictation app freezes")
    reply = mail(
        NURSE,
        "Re: your ticket",
        "It froze again at 14:10.",
        In_Reply_To=f"<{number}.9f1c2b7e@careline.example>",
        References=f"<{number}.thread@careline.example> <{number}.9f1c2b7e@careline.example>",
    )
    assert listener.send(reply) == (250, f"2.0.0 reply added to {number}")
    assert [c[0] for c in listener.comments(number)] == ["It froze again at 14:10."]


def test_the_same_message_twice_makes_one_comment(listener: Listener) -> None:
    number = listener.open_ticket("Badge reader beeps")
    reply = mail(
        NURSE, f"Re: {number}", "Now it is silent.", Message_ID="<twice@demo-hospital.example>"
    )
    assert listener.send(reply)[0] == 250
    assert listener.send(reply) == (250, "2.0.0 accepted; ignored (duplicate)")
    assert len(listener.comments(number)) == 1


@pytest.mark.parametrize(
    "header",
    [("Auto-Submitted", "auto-replied"), ("Precedence", "bulk"), ("X-Autoreply", "yes")],
)
def test_auto_replies_are_accepted_and_dropped(listener: Listener, header: tuple[str, str]) -> None:
    subject = f"Out of office ({header[0]})"
    msg = mail(NURSE, subject, "I am away until Monday.")
    msg[header[0]] = header[1]
    assert listener.send(msg) == (250, "2.0.0 accepted; ignored (auto-reply)")
    assert listener.count_titled(subject) == 0
    assert f"mail ignored reason=auto-reply from={NURSE}" in listener.log()


def test_bounces_are_accepted_and_dropped(listener: Listener) -> None:
    bounce = mail("MAILER-DAEMON@demo-hospital.example", "Undeliverable: ack", "User unknown")
    assert listener.send(bounce, mail_from="<>") == (250, "2.0.0 accepted; ignored (bounce)")
    report = mail(NURSE, "Delivery Status Notification", "failed")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    assert listener.send(report) == (250, "2.0.0 accepted; ignored (bounce)")
    assert listener.count_titled("Delivery Status Notification") == 0


def test_a_stranger_is_refused(listener: Listener) -> None:
    code, text = listener.send(mail("someone@elsewhere.example", "Buy now", "Cheap pills"))
    assert code == 550
    assert text.startswith("5.7.1 sender not recognised")
    assert listener.count_titled("Buy now") == 0
    assert "mail refused reason=unknown-sender from=someone@elsewhere.example" in listener.log()


def test_mail_not_for_the_desk_is_refused(listener: Listener) -> None:
    msg = mail(NURSE, "Lunch?", "Fancy lunch?")
    assert listener.send(msg, to=("dr.house@careline.example",)) == (
        550,
        "5.1.1 not a service desk address",
    )
    assert "mail refused reason=not-to-desk" in listener.log()
    # The desk's other address is the desk too.
    assert listener.send(msg, to=("dr.house@careline.example", "IT@careline.example"))[0] == 250


def test_oversized_mail_is_refused(listener: Listener) -> None:
    msg = mail(NURSE, "Huge scan", "See attached.")
    msg.add_attachment(
        os.urandom(70_000), maintype="application", subtype="pdf", filename="huge.pdf"
    )
    raw = wire(msg)
    code, text = listener.send(raw, mail_from=NURSE, size=len(raw))  # declared up front
    assert (code, text) == (552, "Error: message size exceeds fixed maximum message size")
    code, text = listener.send(raw, mail_from=NURSE)  # found out while it arrives
    assert (code, text) == (552, "Error: Too much mail data")
    assert listener.count_titled("Huge scan") == 0
    assert listener.log().count("mail refused reason=too-large") >= 2


def test_garbage_is_refused_and_the_next_message_still_works(listener: Listener) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
        smtp.ehlo("sender.test")
        smtp.mail(NURSE)
        smtp.rcpt(DESK)
        code, text = smtp.data(b"\x00\xff\xfe garbage\r\nwith no headers at all")
        assert (code, text) == (550, b"5.6.0 malformed message: no headers")
        smtp.mail(NURSE)
        smtp.rcpt(DESK)
        code, text = smtp.data(b"From: " + NURSE.encode() + b"\r\nSubject: Fine\r\n\r\nhello\r\n")
        assert code == 250, text
    assert "mail refused reason=malformed" in listener.log()
    assert listener.count_titled("Fine") == 1


def _attachments(listener: Listener, number: str) -> list[tuple[str, str, int, str, str]]:
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in listener.query(
            "SELECT a.filename, a.content_type, a.size, a.sha256, a.file FROM servicedesk_attachment a"
            " JOIN servicedesk_ticket t ON t.id = a.ticket_id WHERE t.number = %s ORDER BY a.id",
            number,
        )
    ]


def test_attachments_are_kept_with_their_sha256(listener: Listener) -> None:
    scan = b"%PDF-1.7 error screen " + os.urandom(2000)
    msg = mail(NURSE, "Error on the EHR login", "Screenshot attached.")
    msg.add_attachment(scan, maintype="application", subtype="pdf", filename="login error.pdf")
    code, text = listener.send(msg)
    assert code == 250, text
    number = NUMBER.search(text).group(0)  # type: ignore[union-attr]
    [(filename, content_type, size, sha256, path)] = _attachments(listener, number)
    assert (filename, content_type, size) == ("login_error.pdf", "application/pdf", len(scan))
    assert sha256 == hashlib.sha256(scan).hexdigest()
    stored = Path(listener.env["CARELINE_DATA_DIR"]) / "media" / path
    assert stored.read_bytes() == scan


def test_executable_attachments_are_refused(listener: Listener) -> None:
    msg = mail(NURSE, "Installer from the vendor", "They said to run this.")
    msg.add_attachment(
        b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="setup.exe"
    )
    msg.add_attachment(b"notes", maintype="text", subtype="plain", filename="notes.txt")
    code, text = listener.send(msg)
    assert code == 250, text
    number = NUMBER.search(text).group(0)  # type: ignore[union-attr]
    assert [a[0] for a in _attachments(listener, number)] == ["notes.txt"]
    assert listener.ticket(number)["description"] == (
        "They said to run this.\n\nattachment setup.exe refused (executable)"
    )


def test_sigterm_stops_the_listener_cleanly(
    listener: Listener, scratch_env: dict[str, str]
) -> None:
    second = _start(scratch_env, Path(scratch_env["CARELINE_DATA_DIR"]) / "second.log")
    try:
        with smtplib.SMTP("127.0.0.1", second.port, timeout=10) as smtp:
            smtp.ehlo("sender.test")  # a session left open must not hold the stop up
            second.process.send_signal(signal.SIGTERM)
            assert second.process.wait(timeout=20) == 0
    finally:
        if second.process.poll() is None:
            os.killpg(second.process.pid, signal.SIGKILL)
            second.process.wait()
    assert second.process.returncode == 0
    assert "mail-intake stopped" in second.log()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", second.port), timeout=2)


def test_a_new_report_delivered_twice_opens_one_ticket(mailbox: Hospital) -> None:
    msg = mail(
        "maria@northgate.example",
        "Printer jammed",
        "Ward printer",
        Message_ID="<twice@northgate.example>",
    )
    first = deliver(msg)
    second = deliver(msg)
    assert first.action == "created"
    assert (second.action, second.reason) == ("ignored", "duplicate")
    assert Ticket.objects.filter(message_id="<twice@northgate.example>").count() == 1


def test_the_hyphenated_command_name_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "careline.cli", "mail-intake", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" in result.stdout
