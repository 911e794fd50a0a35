from __future__ import annotations

from typing import Any

import pytest

from careline.servicedesk.models import Queue, QueueMember
from careline.servicedesk.services.tickets import TicketDraft
from tests.conftest import Hospital


def draft(**overrides: Any) -> TicketDraft:
    """Maria's usual report: the wristband scanner in the ED will not read."""
    values: dict[str, Any] = {
        "kind": "incident",
        "title": "Scanner won't read wristbands",
        "description": "Bay 4 scanner beeps but nothing appears in the EHR.",
        "department": "NG-ED",
        "care_effect": "degraded",
        "scope": "person",
        "service": None,
    }
    values.update(overrides)
    return TicketDraft(**values)


@pytest.fixture
def desk(hospital: Hospital) -> Hospital:
    """The hospital with Priya and Sam on shift on the service desk (round robin)."""
    servicedesk = Queue.objects.get(code="SERVICEDESK")
    servicedesk.manager = hospital.manager
    servicedesk.save()
    QueueMember.objects.create(queue=servicedesk, user=hospital.agent)
    QueueMember.objects.create(queue=servicedesk, user=hospital.engineer)
    return hospital
