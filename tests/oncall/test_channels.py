"""Each delivery channel against a real local HTTP receiver: the request's shape (Twilio's
form fields and basic authentication, the generic gateway's template, Slack's text, Teams'
Adaptive Card), the signed webhook verified by recomputing its HMAC, and the Idempotency-Key
on every request. How answers are judged: 4xx refused at once into the dead letters with the
receiver's words, 408/429/5xx and network errors retried (Retry-After honoured).

Bad input tried: a number that is not international, a switched-off target, a webhook whose
URL the receiver echoes back (the token must not reach the error), a message body holding
quotes, braces and placeholder-like text for the JSON template, markup in Slack and TwiML
text, and bad values of every delivery setting (each refused at start-up naming it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import runpy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.utils import timezone

from careline.core import crypto
from careline.core.models import AuditEvent, User
from careline.env import ImproperSetting
from careline.oncall import dispatcher
from careline.oncall.channels import config, webhook
from careline.oncall.models import Notification, Page, WebhookTarget
from careline.oncall.outbox import Message, enqueue
from tests.oncall.receivers import Answer, HttpReceiver
from tests.processes import free_port

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
SLACK_TOKEN = "T000/B000/XXXXsecretXXXX"


def dispatch() -> int:
    return async_to_sync(dispatcher.dispatch_once)()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as peer:
        yield peer


@pytest.fixture
def twilio(settings: Any, receiver: HttpReceiver) -> HttpReceiver:
    settings.GATEWAY = "twilio"
    settings.TWILIO_API_URL = receiver.url("").rstrip("/")
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.GATEWAY_FROM = "+15550001111"
    return receiver


def target(kind: str, url: str, key: str = "", code: str = "") -> WebhookTarget:
    return WebhookTarget.objects.create(
        code=code or kind.upper(),
        name=f"{kind} channel",
        kind=kind,
        url_encrypted=crypto.encrypt(url),
        signing_key_encrypted=crypto.encrypt(key) if key else "",
        created_at=timezone.now(),
    )


def page() -> Page:
    now = timezone.now()
    return Page.objects.create(
        title="EHR down", priority="P1", source="monitoring", storm_until=now, created_at=now
    )


def message(channel: str, **kw: Any) -> Message:
    values: dict[str, Any] = {
        "channel": channel,
        "subject": "[P1] EHR down",
        "body": "[P1] EHR down\n\nAcknowledge: https://careline.example/oncall/ack/x/",
        "key": f"test:{channel}:1",
    }
    values.update(kw)
    return Message(**values)


def one(key: str = "") -> Notification:
    return Notification.objects.get(idempotency_key=key) if key else Notification.objects.get()


# --- SMS and voice ----------------------------------------------------------------------------


def test_twilio_sms_is_a_form_post_with_basic_auth_and_the_idempotency_key(
    db: None, twilio: HttpReceiver
) -> None:
    enqueue(message("sms", to="+1 555 123 0002", body="CareLine [P1] EHR down"))
    assert dispatch() == 1
    [request] = twilio.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "To": ["+15551230002"],
        "From": ["+15550001111"],
        "Body": ["CareLine [P1] EHR down"],
    }
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.key == "test:sms:1"
    assert one().status == "sent"


def test_twilio_voice_reads_the_message_out_with_twiml(db: None, twilio: HttpReceiver) -> None:
    enqueue(message("voice", to="+15551230002", body="Lab & pharmacy <down>. Press nothing."))
    assert dispatch() == 1
    [request] = twilio.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+15551230002"]
    assert form["From"] == ["+15550001111"]
    assert form["Twiml"] == [
        "<Response><Say>Lab &amp; pharmacy &lt;down&gt;. Press nothing.</Say></Response>"
    ]
    assert request.key == "test:voice:1"


def test_the_generic_gateway_fills_its_json_template_with_any_text(
    db: None, settings: Any, receiver: HttpReceiver
) -> None:
    settings.GATEWAY = "http"
    settings.GATEWAY_SMS_URL = receiver.url("/sms/send")
    settings.GATEWAY_TOKEN = "gateway-token"
    settings.GATEWAY_FROM = "+15550001111"
    settings.GATEWAY_SMS_TEMPLATE = {
        "destination": "{to}",
        "sender": "{from}",
        "message": {"text": "{body}", "ref": "{key}"},
        "tags": ["careline", "{subject}"],
        "priority": 1,
    }
    tricky = 'He said "EHR {down}"\nline two {to} \\ end'
    enqueue(message("sms", to="+15551230002", body=tricky, subject="{body}"))
    assert dispatch() == 1
    [request] = receiver.received
    assert request.path == "/sms/send"
    assert request.headers["authorization"] == "Bearer gateway-token"
    assert request.key == "test:sms:1"
    assert json.loads(request.body) == {
        "destination": "+15551230002",
        "sender": "+15550001111",
        # One pass: text that looks like a placeholder is sent as written.
        "message": {"text": tricky, "ref": "test:sms:1"},
        "tags": ["careline", "{body}"],
        "priority": 1,
    }


def test_sms_waits_untried_while_no_gateway_is_configured(db: None, settings: Any) -> None:
    settings.GATEWAY = ""
    enqueue(message("sms", to="+15551230002"))
    assert dispatch() == 0
    waiting = one()
    assert (waiting.status, waiting.attempts) == ("pending", 0)


def test_a_number_that_is_not_international_is_a_dead_letter_without_a_request(
    db: None, twilio: HttpReceiver
) -> None:
    enqueue(message("sms", to="555-0102"))
    assert dispatch() == 0
    dead = one()
    assert dead.status == "dead"
    assert "not a phone number in international form" in dead.last_error
    assert twilio.received == []


# --- chat -------------------------------------------------------------------------------------


def test_slack_gets_text_escaped_its_own_way_with_mentions_kept(
    db: None, receiver: HttpReceiver
) -> None:
    slack = target("slack", receiver.url(f"/services/{SLACK_TOKEN}"))
    body = "<@U024BE7LH> [P1] EHR <down> & lab slow\nhttps://careline.example/p/1"
    enqueue(message("slack", target=slack, to="@sam", subject="[P1] EHR down", body=body))
    assert dispatch() == 1
    [request] = receiver.received
    assert request.path == f"/services/{SLACK_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "text": "[P1] EHR down\n\n<@U024BE7LH> [P1] EHR &lt;down&gt; &amp; lab slow\n"
        "https://careline.example/p/1"
    }
    assert request.key == "test:slack:1"
    assert one().to == "@sam"


def test_a_chat_text_that_names_its_subject_is_not_given_it_twice(
    db: None, receiver: HttpReceiver
) -> None:
    slack = target("slack", receiver.url("/hook"))
    body = "<@U024BE7LH> [P1] EHR down\n\nAcknowledge: https://careline.example/a/"
    enqueue(message("slack", target=slack, body=body))
    assert dispatch() == 1
    assert json.loads(receiver.received[0].body) == {"text": body}


def test_teams_gets_an_adaptive_card(db: None, receiver: HttpReceiver) -> None:
    teams = target("teams", receiver.url("/webhookb2/abc"))
    enqueue(message("teams", target=teams))
    assert dispatch() == 1
    [request] = receiver.received
    sent = json.loads(request.body)
    assert sent["type"] == "message"
    [attachment] = sent["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    title, text = card["body"]
    assert title == {"type": "TextBlock", "text": "[P1] EHR down", "weight": "Bolder", "wrap": True}
    assert text["text"] == "Acknowledge: https://careline.example/oncall/ack/x/"
    assert request.key == "test:teams:1"
    # A message for a target with no handle is addressed to the target itself.
    assert one().to == "TEAMS"


def test_a_switched_off_target_is_a_dead_letter_without_a_request(
    db: None, receiver: HttpReceiver
) -> None:
    slack = target("slack", receiver.url("/hook"))
    enqueue(message("slack", target=slack))
    WebhookTarget.objects.filter(pk=slack.pk).update(active=False)
    dispatch()
    dead = one()
    assert dead.status == "dead"
    assert dead.last_error == "refused: delivery target SLACK is switched off"
    assert receiver.received == []


@pytest.mark.parametrize("url", ["hooks.slack.example/services/T0/B0/x", "ftp://files.example/"])
def test_a_target_url_no_request_can_use_is_a_dead_letter(db: None, url: str) -> None:
    enqueue(message("slack", target=target("slack", url)))
    dispatch()
    dead = one()
    assert (dead.status, dead.last_error) == (
        "dead",
        "refused: the receiver's URL is not usable",
    )


# --- the signed webhook -----------------------------------------------------------------------


def test_a_signed_webhook_can_be_verified_by_recomputing_its_hmac(
    db: None, receiver: HttpReceiver
) -> None:
    key = "whsec-0123456789abcdef"
    hook = target("webhook", receiver.url("/careline/events"), key=key)
    incident = page()
    enqueue(message("webhook", target=hook, page=incident, page_level=0, about=incident))
    when = (timezone.now() + timedelta(seconds=1)).replace(microsecond=0)
    with time_machine.travel(when, tick=False):
        assert dispatch() == 1
    [request] = receiver.received
    timestamp = request.headers[webhook.TIMESTAMP_HEADER.lower()]
    signature = request.headers[webhook.SIGNATURE_HEADER.lower()]
    assert timestamp == str(int(when.timestamp()))
    # The receiver's side, as the module's docstring tells it.
    digest = hmac.new(key.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert hmac.compare_digest(f"sha256={digest.hexdigest()}", signature)
    forged = hmac.new(b"another key", f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert not hmac.compare_digest(f"sha256={forged.hexdigest()}", signature)
    tampered = hmac.new(
        key.encode(), f"{timestamp}.".encode() + request.body + b" ", hashlib.sha256
    )
    assert not hmac.compare_digest(f"sha256={tampered.hexdigest()}", signature)
    body = json.loads(request.body)
    assert body["id"] == request.key == "test:webhook:1"
    assert body["subject"] == "[P1] EHR down"
    assert body["page"] == incident.pk
    assert body["object"] == {"type": "oncall.page", "id": str(incident.pk)}
    assert request.headers["content-type"] == "application/json"


def test_a_webhook_url_never_reaches_the_error_even_when_echoed(
    db: None, receiver: HttpReceiver
) -> None:
    receiver.default = Answer(404, f"no hook at {receiver.url('/hooks/' + SLACK_TOKEN)}")
    hook = target("slack", receiver.url("/hooks/" + SLACK_TOKEN))
    enqueue(message("slack", target=hook))
    dispatch()
    dead = one()
    assert dead.status == "dead"
    assert "HTTP 404" in dead.last_error
    assert SLACK_TOKEN not in dead.last_error
    assert "<target URL>" in dead.last_error


# --- how answers are judged -------------------------------------------------------------------


def test_a_permanent_refusal_is_a_dead_letter_at_once_with_the_receivers_words(
    db: None, twilio: HttpReceiver, hospital: Any
) -> None:
    twilio.default = Answer(400, '{"code": 21211, "message": "The \'To\' number is not valid."}')
    incident = page()
    sam: User = hospital.engineer
    enqueue(message("sms", to="+15551230002", page=incident, page_level=1, recipient=sam))
    assert dispatch() == 0
    dead = one()
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error.startswith("refused: 127.0.0.1 answered HTTP 400:")
    assert "The 'To' number is not valid." in dead.last_error
    event = AuditEvent.objects.get(action="oncall.delivery_failed")
    assert (event.object_type, event.object_id) == ("oncall.page", str(incident.pk))
    assert "sam could not be paged by sms" in event.summary
    assert event.after["recipient"] == "sam"
    assert dispatch() == 0  # a dead letter is not tried again by itself
    assert len(twilio.received) == 1


@pytest.mark.parametrize(
    ("answer", "wait_s"),
    [
        (Answer(500, "upstream broke"), 15),
        (Answer(503, "busy"), 15),
        (Answer(408, "too slow"), 15),
        (Answer(429, "slow down", {"Retry-After": "120"}), 120),
        # A Retry-After shorter than the backoff does not shorten it.
        (Answer(429, "slow down", {"Retry-After": "2"}), 15),
    ],
)
def test_retryable_answers_back_off_and_keep_the_message(
    db: None, receiver: HttpReceiver, answer: Answer, wait_s: int
) -> None:
    receiver.default = answer
    enqueue(message("slack", target=target("slack", receiver.url("/hook"))))
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert dispatch() == 0
    waiting = one()
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at == now + timedelta(seconds=wait_s)
    assert f"HTTP {answer.status}: {answer.body}" in waiting.last_error


def test_a_receiver_nobody_listens_on_is_retried(db: None) -> None:
    enqueue(message("slack", target=target("slack", f"http://127.0.0.1:{free_port()}/hook")))
    assert dispatch() == 0
    waiting = one()
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error.startswith("cannot reach 127.0.0.1")


def test_a_delivered_page_message_is_on_the_pages_audit_trail(
    db: None, twilio: HttpReceiver, hospital: Any
) -> None:
    incident = page()
    enqueue(
        message("sms", to="+15551230002", page=incident, page_level=0, recipient=hospital.engineer)
    )
    when = (timezone.now() + timedelta(seconds=1)).replace(microsecond=0)
    with time_machine.travel(when, tick=False):
        assert dispatch() == 1
    event = AuditEvent.objects.get(action="oncall.delivered")
    assert (event.object_type, event.object_id) == ("oncall.page", str(incident.pk))
    assert event.summary == f"sam paged by sms, delivered {when:%Y-%m-%d %H:%M:%S} UTC"
    assert event.after["recipient"] == "sam"
    assert event.after["channel"] == "sms"
    assert event.after["delivered_at"] == when.isoformat()
    assert one().sent_at == when


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CARELINE_GATEWAY": "pager"}, "CARELINE_GATEWAY"),
        ({"CARELINE_GATEWAY": "twilio"}, "CARELINE_GATEWAY_FROM"),
        ({"CARELINE_GATEWAY": "twilio", "CARELINE_GATEWAY_FROM": "0123"}, "CARELINE_GATEWAY_FROM"),
        (
            {"CARELINE_GATEWAY": "twilio", "CARELINE_GATEWAY_FROM": "+15550001111"},
            "CARELINE_TWILIO_ACCOUNT_SID",
        ),
        (
            {
                "CARELINE_GATEWAY": "twilio",
                "CARELINE_GATEWAY_FROM": "+15550001111",
                "CARELINE_TWILIO_ACCOUNT_SID": SID,
            },
            "CARELINE_TWILIO_AUTH_TOKEN",
        ),
        ({"CARELINE_TWILIO_API_URL": "ftp://api.example"}, "CARELINE_TWILIO_API_URL"),
        ({"CARELINE_GATEWAY": "http"}, "CARELINE_GATEWAY_SMS_URL"),
        ({"CARELINE_GATEWAY_SMS_URL": "sms.example/send"}, "CARELINE_GATEWAY_SMS_URL"),
        ({"CARELINE_GATEWAY_VOICE_URL": "https://host:port/"}, "CARELINE_GATEWAY_VOICE_URL"),
        ({"CARELINE_GATEWAY_SMS_TEMPLATE": "{not json"}, "CARELINE_GATEWAY_SMS_TEMPLATE"),
        ({"CARELINE_GATEWAY_SMS_TEMPLATE": '["{to}"]'}, "CARELINE_GATEWAY_SMS_TEMPLATE"),
        (
            {"CARELINE_GATEWAY_VOICE_TEMPLATE": '{"say": "{body}"}'},
            "CARELINE_GATEWAY_VOICE_TEMPLATE",
        ),
        ({"CARELINE_GATEWAY_TOKEN_FILE": "/nonexistent/token"}, "CARELINE_GATEWAY_TOKEN_FILE"),
        ({"CARELINE_OUTBOX_POLL_MS": "0"}, "CARELINE_OUTBOX_POLL_MS"),
        ({"CARELINE_OUTBOX_POLL_MS": "fast"}, "CARELINE_OUTBOX_POLL_MS"),
        ({"CARELINE_OUTBOX_SEND_TIMEOUT_S": "0"}, "CARELINE_OUTBOX_SEND_TIMEOUT_S"),
        # A claim must outlast a send, or a live dispatcher's message could go twice.
        (
            {"CARELINE_OUTBOX_SEND_TIMEOUT_S": "30", "CARELINE_OUTBOX_CLAIM_SECONDS": "30"},
            "CARELINE_OUTBOX_CLAIM_SECONDS",
        ),
        ({"CARELINE_OUTBOX_BACKOFF_BASE_MS": "-5"}, "CARELINE_OUTBOX_BACKOFF_BASE_MS"),
        ({"CARELINE_OUTBOX_MAX_ATTEMPTS": "0"}, "CARELINE_OUTBOX_MAX_ATTEMPTS"),
        ({"CARELINE_OUTBOX_CONCURRENCY": "0"}, "CARELINE_OUTBOX_CONCURRENCY"),
        ({"CARELINE_OUTBOX_PER_RECEIVER": "many"}, "CARELINE_OUTBOX_PER_RECEIVER"),
    ],
)
def test_bad_delivery_settings_stop_start_up_naming_the_variable(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CARELINE_DATA_DIR", str(tmp_path))
    for name in list(os.environ):
        if name.startswith(("CARELINE_GATEWAY", "CARELINE_TWILIO", "CARELINE_OUTBOX")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings_file = Path(__file__).resolve().parents[2] / "careline" / "settings.py"
    with pytest.raises(ImproperSetting, match=named):
        runpy.run_path(str(settings_file))


def test_good_delivery_settings_are_read_and_normalised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CARELINE_DATA_DIR", str(tmp_path))
    token = tmp_path / "twilio-token"
    token.write_text("from-a-file\n")
    monkeypatch.setenv("CARELINE_GATEWAY", "Twilio")
    monkeypatch.setenv("CARELINE_GATEWAY_FROM", "+44 1632 960961")
    monkeypatch.setenv("CARELINE_TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("CARELINE_TWILIO_AUTH_TOKEN_FILE", str(token))
    monkeypatch.setenv("CARELINE_TWILIO_API_URL", "http://127.0.0.1:8089/")
    monkeypatch.setenv("CARELINE_OUTBOX_INTERVAL_SECONDS", "2")
    monkeypatch.delenv("CARELINE_OUTBOX_POLL_MS", raising=False)
    read = runpy.run_path(str(Path(__file__).resolve().parents[2] / "careline" / "settings.py"))
    assert read["GATEWAY"] == "twilio"
    assert read["GATEWAY_FROM"] == "+441632960961"
    assert read["TWILIO_AUTH_TOKEN"] == "from-a-file"
    assert read["TWILIO_API_URL"] == "http://127.0.0.1:8089"
    # The older knob still sets the pace when the new one is not given.
    assert read["OUTBOX_POLL_MS"] == 2000


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (lambda v: config.http_url("X_URL", v), "https://"),
        (lambda v: config.phone_number("X_FROM", v), "+1 555"),
        (lambda v: config.phone_number("X_FROM", v), "call me"),
        (lambda v: config.twilio_sid("X_SID", v), "AC123"),
        (lambda v: config.json_template("X_TEMPLATE", v), '{"text": "{body}"}'),
    ],
)
def test_each_check_names_the_variable(check: Any, value: str) -> None:
    with pytest.raises(ImproperSetting, match=r"^X_"):
        check(value)
