"""What people are told by email, written to the outbox with the change that causes it."""

from __future__ import annotations

import pytest
from django.db import transaction

from careline.core.models import User
from careline.oncall.models import Notification
from careline.servicedesk.services import lifecycle
from careline.servicedesk.services.tickets import create_ticket
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft


@pytest.fixture
def emails(desk: Hospital) -> Hospital:
    for user in desk.all().values():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@hospital.example")
        user.refresh_from_db()
    return desk


def _mail(to: str) -> list[Notification]:
    return list(Notification.objects.filter(to=to).order_by("id"))


def test_opening_a_ticket_tells_the_requester_and_the_assignee(emails: Hospital) -> None:
    ticket = create_ticket(emails.nurse, draft())
    [ack] = _mail("maria@hospital.example")
    assert ack.subject == f"[{ticket.number}] Scanner won't read wristbands"
    assert "Priority P2: Patient care degraded in a critical area (ED)." in ack.body
    assert f"/tickets/{ticket.pk}/" in ack.body
    assert ack.headers["References"].startswith(f"<{ticket.number}.thread@")
    [assigned] = _mail("priya@hospital.example")
    assert assigned.subject.startswith(f"[{ticket.number}] Assigned to you")


def test_a_ticket_that_may_hold_phi_is_announced_with_a_link_only(emails: Hospital) -> None:
    ticket = create_ticket(
        emails.nurse, draft(title="Wrong wristband for MRN: 4455667", description="DOB 01/02/1950")
    )
    for mail in Notification.objects.all():
        assert "4455667" not in mail.subject + mail.body
        assert "01/02/1950" not in mail.body
    assert _mail("maria@hospital.example")[0].subject == f"[{ticket.number}] Your ticket"
    lifecycle.add_comment(emails.agent, ticket.pk, "Checked patient MRN: 4455667 in the EHR")
    assert "4455667" not in _mail("maria@hospital.example")[-1].body


def test_replies_go_to_the_other_side_and_notes_to_nobody(emails: Hospital) -> None:
    ticket = create_ticket(emails.nurse, draft())
    Notification.objects.all().delete()
    lifecycle.add_comment(emails.agent, ticket.pk, "Try the spare in bay 5")
    lifecycle.add_comment(emails.agent, ticket.pk, "Vendor case 123", public=False)
    lifecycle.add_comment(emails.nurse, ticket.pk, "Spare works, thanks")
    assert [m.body.split("\n\n")[1] for m in _mail("maria@hospital.example")] == [
        "Try the spare in bay 5"
    ]
    assert [m.body.split("\n\n")[1] for m in _mail("priya@hospital.example")] == [
        "Spare works, thanks"
    ]
    assert Notification.objects.count() == 2


def test_resolving_tells_the_requester_once_per_resolution(emails: Hospital) -> None:
    ticket = create_ticket(emails.nurse, draft())
    lifecycle.change_status(
        emails.agent, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="Re-paired"
    )
    lifecycle.change_status(emails.nurse, ticket.pk, "in_progress")
    lifecycle.change_status(
        emails.agent, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="Replaced"
    )
    resolved = [m for m in _mail("maria@hospital.example") if "Resolved" in m.subject]
    assert [("Re-paired" in m.body, "Replaced" in m.body) for m in resolved] == [
        (True, False),
        (False, True),
    ]


def test_a_failed_change_leaves_no_email(emails: Hospital) -> None:
    ticket = create_ticket(emails.nurse, draft())
    before = Notification.objects.count()
    with pytest.raises(lifecycle.Conflict), transaction.atomic():
        lifecycle.change_status(emails.agent, ticket.pk, "closed")
    assert Notification.objects.count() == before
