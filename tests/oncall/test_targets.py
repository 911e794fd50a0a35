"""Delivery targets: Slack, Teams and signed JSON webhooks, with their secrets kept secret.

Bad input tried: URLs that are not http/https (ftp, javascript, none), have no host or a
broken host or port, carry user:password@, hold spaces, tabs or line breaks, or are plain
http for Slack and Teams; an unknown kind; a signing key on a Slack target, too short, or
holding a space; a duplicate code (409); an unknown code (404); deleting a target still used
by a chat contact or by outbox history (409, saying what uses it).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from careline.core.crypto import decrypt
from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import AuditEvent
from careline.oncall.models import Notification, WebhookTarget
from careline.oncall.services import contacts, targets
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T0NORTH/B0ONCALL/xoxb-very-secret-token"
WEBHOOK_URL = "https://siem.northgate.example:8443/intake/k3y-in-the-path"


def _slack(hospital: Hospital) -> WebhookTarget:
    return targets.create_target(
        hospital.manager, code="IT-SLACK", name="IT on call", kind="slack", url=SLACK_URL
    ).target


def test_the_url_is_encrypted_at_rest_and_shown_only_as_scheme_and_host(
    hospital: Hospital,
) -> None:
    slack = _slack(hospital)
    row = WebhookTarget.objects.get(pk=slack.pk)
    assert "secret-token" not in row.url_encrypted
    assert "hooks.slack.com" not in row.url_encrypted
    assert decrypt(row.url_encrypted) == SLACK_URL
    assert targets.url_of(row) == SLACK_URL
    assert row.signing_key_encrypted == ""
    shown = targets.describe(row)
    assert shown.url == "https://hooks.slack.com/…"
    assert str(shown) == "slack IT-SLACK (IT on call) https://hooks.slack.com/…"
    event = AuditEvent.objects.get(action="webhook_target.create")
    assert "secret-token" not in f"{event.summary} {event.before} {event.after}"


def test_a_webhook_gets_a_generated_signing_key_shown_once(hospital: Hospital) -> None:
    created = targets.create_target(
        hospital.manager, code="SIEM", name="Security events", kind="webhook", url=WEBHOOK_URL
    )
    key = created.signing_key
    assert key is not None
    assert len(key) >= 40
    row = WebhookTarget.objects.get(code="SIEM")
    assert key not in row.signing_key_encrypted
    assert targets.signing_key_of(row) == key
    assert targets.describe(row).url == "https://siem.northgate.example:8443/…"
    given = targets.create_target(
        hospital.manager,
        code="SIEM-2",
        name="Second receiver",
        kind="webhook",
        url=WEBHOOK_URL,
        signing_key="a-key-the-receiver-chose-1234",
    )
    assert given.signing_key == "a-key-the-receiver-chose-1234"
    assert targets.signing_key_of(given.target) == "a-key-the-receiver-chose-1234"


@pytest.mark.parametrize(
    ("kind", "url", "fragment"),
    [
        ("webhook", "ftp://files.northgate.example/drop", "https:// or http://"),
        ("webhook", "javascript:alert(1)", "https:// or http://"),
        ("webhook", "hooks.slack.com/services/x", "https:// or http://"),
        ("webhook", "https://", "must name a host"),
        ("webhook", "https:///path-only", "must name a host"),
        ("webhook", "https://bot:hunter2@siem.northgate.example/hook", "user name or password"),
        ("webhook", "https://siem@northgate.example/hook", "user name or password"),
        ("webhook", "https://siem.northgate.example/a b", "spaces"),
        ("webhook", " https://siem.northgate.example/hook", "spaces"),
        ("webhook", "https://siem.northgate.example/hook\n", "spaces"),
        ("webhook", "https://siem.northgate.example/\thook", "spaces"),
        ("webhook", "https://exa mple.com/hook", "spaces"),
        ("webhook", "https://not_a_host!/hook", "not a valid URL"),
        ("webhook", "", "must not be empty"),
        ("webhook", "https://[::1/hook", "Invalid IPv6 URL"),
        ("webhook", "https://siem.northgate.example:99999/hook", "Port out of range"),
        ("webhook", "https://siem.northgate.example:https/hook", "not a valid URL"),
        ("slack", "http://hooks.slack.com/services/x", "must use https"),
        ("teams", "http://northgate.webhook.office.com/webhookb2/x", "must use https"),
    ],
)
def test_bad_urls_are_refused_naming_the_field(
    hospital: Hospital, kind: str, url: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        targets.create_target(hospital.manager, code="BAD", name="Bad", kind=kind, url=url)
    assert refused.value.field == "url"
    assert fragment in refused.value.message
    assert not WebhookTarget.objects.exists()


def test_a_plain_http_receiver_on_the_hospital_network_is_accepted(hospital: Hospital) -> None:
    created = targets.create_target(
        hospital.manager,
        code="LOCAL",
        name="Local receiver",
        kind="webhook",
        url="http://127.0.0.1:8099/hook",
    )
    assert targets.describe(created.target).url == "http://127.0.0.1:8099/…"


def test_bad_kinds_keys_and_codes_are_refused(hospital: Hospital) -> None:
    def create(**kw: Any) -> Any:
        values = {"code": "T1", "name": "Target", "kind": "webhook", "url": WEBHOOK_URL}
        return targets.create_target(hospital.manager, **{**values, **kw})

    for kw, field in (
        ({"kind": "pager"}, "kind"),
        ({"kind": "slack", "url": SLACK_URL, "signing_key": "x" * 32}, "signing_key"),
        ({"signing_key": "short"}, "signing_key"),
        ({"signing_key": "has a space in it, sixteen+"}, "signing_key"),
        ({"code": "not a code"}, "code"),
        ({"name": ""}, "name"),
    ):
        with pytest.raises(InvalidInput) as refused:
            create(**kw)
        assert refused.value.field == field, kw
    assert not WebhookTarget.objects.exists()
    create()
    with pytest.raises(Conflict) as duplicate:
        create()
    assert duplicate.value.field == "code"


def test_a_target_is_updated_and_its_kind_stays(hospital: Hospital) -> None:
    slack = _slack(hospital)
    new_url = "https://hooks.slack.com/services/T0NORTH/B0NEW/rotated-token"
    updated = targets.update_target(
        hospital.manager, "IT-SLACK", name="IT on call (new)", url=new_url, active=False
    )
    assert updated.kind == "slack"
    row = WebhookTarget.objects.get(pk=slack.pk)
    assert (row.name, row.active, targets.url_of(row)) == ("IT on call (new)", False, new_url)
    event = AuditEvent.objects.get(action="webhook_target.update")
    assert event.summary.endswith("name, url, active")
    assert "rotated-token" not in f"{event.before} {event.after}"
    with pytest.raises(InvalidInput) as http:
        targets.update_target(hospital.manager, "IT-SLACK", url="http://hooks.slack.com/x")
    assert http.value.field == "url"
    with pytest.raises(InvalidInput) as key:
        targets.update_target(hospital.manager, "IT-SLACK", signing_key="x" * 32)
    assert key.value.field == "signing_key"
    assert targets.url_of(WebhookTarget.objects.get(pk=slack.pk)) == new_url
    with pytest.raises(NotFound):
        targets.update_target(hospital.manager, "NOPE", name="x")
    with pytest.raises(Forbidden):
        targets.update_target(hospital.engineer, "IT-SLACK", active=True)


def test_a_target_in_use_is_not_deleted_and_the_answer_says_by_what(hospital: Hospital) -> None:
    _slack(hospital)
    handle = contacts.add_contact_method(
        hospital.engineer, kind="chat", address="@sam", target="IT-SLACK"
    )
    with pytest.raises(Conflict) as by_contact:
        targets.delete_target(hospital.manager, "IT-SLACK")
    assert "1 chat contact (sam @sam)" in by_contact.value.message
    assert "deactivate it instead" in by_contact.value.message
    contacts.remove_contact_method(hospital.engineer, handle.pk)
    Notification.objects.create(
        channel="slack",
        to="@sam",
        target=WebhookTarget.objects.get(code="IT-SLACK"),
        subject="[P1] EHR down",
        body="EHR down",
        idempotency_key="test:1",
        next_attempt_at=timezone.now(),
        created_at=timezone.now(),
    )
    with pytest.raises(Conflict) as by_history:
        targets.delete_target(hospital.manager, "IT-SLACK")
    assert "1 notification in the outbox history" in by_history.value.message
    targets.create_target(hospital.manager, code="SPARE", name="Spare", kind="teams", url=SLACK_URL)
    with pytest.raises(Forbidden):
        targets.delete_target(hospital.engineer, "SPARE")
    targets.delete_target(hospital.manager, "SPARE")
    assert not WebhookTarget.objects.filter(code="SPARE").exists()
    with pytest.raises(NotFound):
        targets.delete_target(hospital.manager, "SPARE")
    assert AuditEvent.objects.filter(action="webhook_target.delete").count() == 1


def test_an_unreadable_url_is_described_without_failing(hospital: Hospital, settings: Any) -> None:
    slack = _slack(hospital)
    WebhookTarget.objects.filter(pk=slack.pk).update(url_encrypted="not-a-fernet-token")
    shown = targets.describe(WebhookTarget.objects.get(pk=slack.pk))
    assert shown.url == targets.UNREADABLE
