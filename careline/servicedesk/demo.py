"""The service desk's part of the demo hospital: who works which queue, and a few tickets."""

from __future__ import annotations

from careline.core.models import User
from careline.servicedesk.models import Queue, QueueMember, Ticket
from careline.servicedesk.services.tickets import TicketDraft, create_ticket

MEMBERS = {
    "SERVICEDESK": ["agent", "engineer"],
    "CLINAPPS": ["engineer"],
    "NETWORK": ["engineer"],
    "DESKTOP": ["agent"],
    "SECURITY": ["manager"],
}

TICKETS = [
    (
        "nurse.ed",
        TicketDraft(
            kind="incident",
            title="Scanner won't read wristbands in bay 4",
            description="The scanner beeps but nothing shows in the EHR. Using the spare in bay 5 for now.",
            department="NG-ED",
            service="BCMA",
            care_effect="degraded",
            scope="person",
        ),
    ),
    (
        "clerk.w4",
        TicketDraft(
            kind="incident",
            title="Label printer prints blank labels",
            description="The label printer at the Ward 4 desk feeds labels but prints nothing.",
            department="NG-W4",
            service="PRINT",
            care_effect="none",
            scope="department",
        ),
    ),
    (
        "clerk.w4",
        TicketDraft(
            kind="request",
            title="New starter needs an EHR account",
            description="A ward clerk starts on Monday and needs EHR and email access.",
            department="NG-W4",
            care_effect="none",
            scope="person",
        ),
    ),
]


def load() -> None:
    manager = User.objects.filter(username="manager").first()
    for code, usernames in MEMBERS.items():
        queue = Queue.objects.filter(code=code).first()
        if queue is None:
            continue
        if manager is not None and queue.manager_id is None:
            Queue.objects.filter(pk=queue.pk).update(manager=manager)
        for user in User.objects.filter(username__in=usernames):
            QueueMember.objects.get_or_create(queue=queue, user=user)
    if Ticket.objects.exists():
        return
    for username, draft in TICKETS:
        requester = User.objects.filter(username=username).first()
        if requester is not None:
            create_ticket(requester, draft)
