"""The pages: "How CareLine reaches me" with its forms, and the policies in plain words.

Bad input tried: an invalid phone number, a chat handle without a channel, a delay of 500
and of "soon" (each shown beside its field, nothing stored); removing someone else's contact
method; a requester and an auditor opening the page; a requester opening the policies.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from careline.core.models import User
from careline.oncall.models import ContactMethod, NotificationRule, Schedule
from careline.oncall.services import contacts, policies, targets
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _error_beside(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>', html)
    assert found is not None, f"no error beside {field_id}"
    return found.group(1)


def test_sam_adds_a_number_and_a_rule_and_removes_them(hospital: Hospital) -> None:
    client = signed_in(hospital.engineer)
    page = client.get("/oncall/me/")
    assert page.status_code == 200
    assert "How CareLine reaches me" in page.content.decode()
    added = client.post(
        "/oncall/me/", {"form": "contact", "kind": "sms", "address": "617 555 0101"}
    )
    assert added.status_code == 302
    method = ContactMethod.objects.get(user=hospital.engineer)
    assert method.address == "+16175550101"
    ruled = client.post(
        "/oncall/me/",
        {"form": "rule", "priority": "P1", "method": str(method.pk), "delay_minutes": "2"},
    )
    assert ruled.status_code == 302
    html = client.get("/oncall/me/").content.decode()
    assert "+16175550101" in html
    assert "after 2 minutes unanswered" in html
    rule = NotificationRule.objects.get()
    assert client.post(f"/oncall/me/rules/{rule.pk}/remove/").status_code == 302
    assert client.post(f"/oncall/me/contacts/{method.pk}/remove/").status_code == 302
    assert not ContactMethod.objects.exists()


def test_mistakes_are_shown_beside_their_field(hospital: Hospital) -> None:
    client = signed_in(hospital.engineer)
    phone = client.post("/oncall/me/", {"form": "contact", "kind": "sms", "address": "12345"})
    assert phone.status_code == 422
    html = phone.content.decode()
    assert "valid phone number" in _error_beside(html, "contact-address")
    assert 'value="12345"' in html
    chat = client.post("/oncall/me/", {"form": "contact", "kind": "chat", "address": "@sam"})
    assert "slack or teams" in _error_beside(chat.content.decode(), "contact-target")
    method = contacts.add_contact_method(hospital.engineer, kind="sms", address="6175550101")
    for delay, fragment in (("500", "between 0 and 120 (got 500)"), ("soon", "whole number")):
        answer = client.post(
            "/oncall/me/",
            {"form": "rule", "priority": "P1", "method": str(method.pk), "delay_minutes": delay},
        )
        assert answer.status_code == 422
        assert fragment in _error_beside(answer.content.decode(), "rule-delay")
    assert not NotificationRule.objects.exists()
    assert ContactMethod.objects.count() == 1


def test_someone_elses_contact_cannot_be_removed_from_the_page(hospital: Hospital) -> None:
    helens = contacts.add_contact_method(hospital.manager, kind="sms", address="6175550102")
    answer = signed_in(hospital.engineer).post(f"/oncall/me/contacts/{helens.pk}/remove/")
    assert answer.status_code == 403
    assert ContactMethod.objects.filter(pk=helens.pk).exists()
    assert signed_in(hospital.nurse).get("/oncall/me/").status_code == 403
    assert signed_in(hospital.auditor).get("/oncall/me/").status_code == 403


def test_the_policies_page_reads_in_plain_words(hospital: Hospital) -> None:
    Schedule.objects.create(
        code="IT-ONCALL", name="IT on call", time_zone="America/New_York", created_at=timezone.now()
    )
    policies.create_policy(
        hospital.manager,
        code="CLINICAL",
        name="Clinical systems",
        levels=[{"target_kind": "schedule", "schedule": "IT-ONCALL", "channels": ["sms"]}],
        final_user="helen",
    )
    policies.set_routes(hospital.manager, [{"priority": "P1", "policy": "CLINICAL"}])
    targets.create_target(
        hospital.manager,
        code="IT-SLACK",
        name="IT on call",
        kind="slack",
        url="https://hooks.slack.com/services/T0/B0/secret-token",
    )
    page = signed_in(hospital.agent).get("/oncall/policies/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1. Whoever is on call on IT-ONCALL, by SMS; 5 minutes to acknowledge" in html
    assert "P1, any service: page at once with CLINICAL" in html
    assert "https://hooks.slack.com/…" in html
    assert "secret-token" not in html
    assert 'name="viewport"' in html
    assert signed_in(hospital.nurse).get("/oncall/policies/").status_code == 403
