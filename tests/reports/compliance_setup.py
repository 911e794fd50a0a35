"""A hospital with something to review, shared by the compliance report tests.

Helen (manager) signed in 10 days ago and has a second factor; Maria (nurse) last signed in
100 days ago; Olive (outsider) was created 200 days ago and never signed in; Dan, an agent,
left and was deactivated. Tokens: Sam's in use, Alex's unused for 120 days, Frank's revoked,
Dan's orphaned by his deactivation.

Maria's ticket quotes a medical record number (flagged as PHI); Olive's does not. Maria
reported a lost phone (a security incident, assessed as a breach) and Olive a phishing email
(not yet assessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from careline.core import services
from careline.core.models import ApiToken, User
from careline.servicedesk.models import Ticket
from careline.servicedesk.services import lifecycle
from careline.servicedesk.services.tickets import TicketDraft, create_ticket
from tests.conftest import Hospital

PHI_TITLE = "Wrong allergy list for MRN 4417730"
SEC_TITLE = "Lost my work phone on the bus"
PHISH_TITLE = "Phishing email asking for passwords"


@dataclass
class Reviewed:
    hospital: Hospital
    phi_ticket: Ticket
    plain_ticket: Ticket
    lost_phone: Ticket
    phishing: Ticket
    sam_token: ApiToken
    alex_token: ApiToken
    frank_token: ApiToken
    dan: User
    dan_token: ApiToken


def _ticket(
    user: User, title: str, department: str, kind: str = "incident", **extra: object
) -> Ticket:
    draft = TicketDraft(
        kind=kind,
        title=title,
        description="Reported from the ward.",
        department=department,
        care_effect="degraded",
        scope="person",
        **extra,  # type: ignore[arg-type]
    )
    return create_ticket(user, draft)


def _ago(days: int) -> object:
    return timezone.now() - timedelta(days=days)


def build(hospital: Hospital) -> Reviewed:
    h = hospital
    User.objects.filter(pk=h.manager.pk).update(
        last_login=_ago(10), totp_confirmed_at=_ago(300), totp_secret="x"
    )
    User.objects.filter(pk=h.nurse.pk).update(last_login=_ago(100))
    User.objects.filter(pk=h.outsider.pk).update(date_joined=_ago(200))
    for user in (h.engineer, h.auditor, h.admin):
        User.objects.filter(pk=user.pk).update(last_login=_ago(1))
    sam = services.create_token(None, user=h.engineer, name="monitoring").token
    ApiToken.objects.filter(pk=sam.pk).update(last_used_at=_ago(0))
    alex = services.create_token(None, user=h.admin, name="old-script").token
    ApiToken.objects.filter(pk=alex.pk).update(created_at=_ago(200), last_used_at=_ago(120))
    frank = services.create_token(None, user=h.auditor, name="spreadsheet").token
    services.revoke_token(None, frank.pk)
    dan = services.create_user(None, username="dan", role="agent", department="NG-IT")
    dan_token = services.create_token(None, user=dan, name="laptop").token

    phi_ticket = _ticket(h.nurse, PHI_TITLE, "NG-ED")
    plain_ticket = _ticket(h.outsider, "Printer jammed on ward 1", "RV-W1")
    lost_phone = _ticket(h.nurse, SEC_TITLE, "NG-ED", kind="security", phi_breach_suspected=True)
    phishing = _ticket(h.outsider, PHISH_TITLE, "RV-W1", kind="security")
    lifecycle.set_security_assessment(
        h.manager,
        lost_phone.pk,
        outcome="breach_confirmed",
        breach_risk="high",
        assessment="Unencrypted phone with ward lists; patients notified.",
    )
    # Dan left: his account was deactivated after his token was issued.
    User.objects.filter(pk=dan.pk).update(is_active=False, last_login=_ago(200))
    dan.refresh_from_db()
    for user in h.all().values():
        user.refresh_from_db()
    return Reviewed(
        hospital=h,
        phi_ticket=phi_ticket,
        plain_ticket=plain_ticket,
        lost_phone=Ticket.objects.get(pk=lost_phone.pk),
        phishing=phishing,
        sam_token=sam,
        alex_token=alex,
        frank_token=frank,
        dan=dan,
        dan_token=dan_token,
    )
