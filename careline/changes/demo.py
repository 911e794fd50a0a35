"""The demo hospital's change management: a standard-change template, the blackouts a
hospital keeps (the pharmacy system during the morning dispensing round; an EHR freeze before
an upgrade), a scheduled change, one waiting for the advisory board and a draft."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from careline.changes.models import Blackout, Change, ChangeTemplate
from careline.changes.services import blackouts, changes, lifecycle
from careline.core.models import ClinicalService, User


def _next_sunday(now: datetime, hour: int) -> datetime:
    """The coming Sunday at `hour` UTC, at least two days away."""
    day = now + timedelta(days=2)
    day += timedelta(days=(6 - day.weekday()) % 7)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def _change(requester: User, **fields: Any) -> Change:
    data: dict[str, Any] = {
        "kind": "normal",
        "clinical_impact": "none",
        "complexity": "low",
        "tested": True,
        "out_of_hours": True,
        **fields,
    }
    return changes.create_change(requester, data)


def load() -> None:
    """Idempotent: nothing is added once the demo's first change exists."""
    engineer = User.objects.filter(username="engineer").first()
    manager = User.objects.filter(username="manager").first()
    codes = set(ClinicalService.objects.values_list("code", flat=True))
    if engineer is None or manager is None or not {"EHR", "PACS", "PHARM", "PRINT"} <= codes:
        return
    if Change.objects.filter(title="Patch the EHR application servers").exists():
        return
    now = timezone.now()
    if not ChangeTemplate.objects.exists():
        changes.create_template(
            manager,
            name="Add a printer to a ward print queue",
            description="A label or wristband printer added to an existing ward queue.",
            implementation_plan="Add the queue on the print server; print a test label.",
            backout_plan="Remove the queue.",
            services=["PRINT"],
        )
    if not Blackout.objects.exists():
        blackouts.create_blackout(
            manager,
            name="Pharmacy morning dispensing round",
            services=["PHARM"],
            weekdays=[0, 1, 2, 3, 4, 5, 6],
            start_time=time(7, 0),
            end_time=time(10, 0),
            time_zone="America/New_York",
            reason="Cabinets restock and first doses go out: no changes to the pharmacy system.",
        )
        freeze = _next_sunday(now, 0) + timedelta(days=14)
        blackouts.create_blackout(
            manager,
            name="EHR freeze before the spring upgrade",
            services=["EHR"],
            starts_at=freeze,
            ends_at=freeze + timedelta(days=7),
            reason="Only the upgrade itself touches the EHR that week.",
        )
    sunday = _next_sunday(now, 7)  # 02:00 in New York
    patch = _change(
        engineer,
        title="Patch the EHR application servers",
        description="Monthly operating-system patches, one node at a time behind the balancer.",
        services=["EHR"],
        clinical_impact="degraded",
        complexity="medium",
        implementation_plan="Drain node 1, patch, reboot, check; then node 2.",
        backout_plan="Restore the pre-patch VM snapshots.",
        planned_start=sunday,
        planned_end=sunday + timedelta(hours=2),
    )
    lifecycle.submit(engineer, patch.pk)
    lifecycle.approve(manager, patch.pk, "Out of hours, one node at a time: approved.")
    firmware = _change(
        engineer,
        title="PACS archive firmware upgrade",
        description="The vendor's firmware for the archive's storage controllers.",
        services=["PACS"],
        clinical_impact="blocked",
        complexity="high",
        service_unavailable=True,
        implementation_plan="Vendor engineer on site; controllers upgraded in turn.",
        backout_plan="Vendor rolls the controllers back to the previous firmware.",
        planned_start=sunday + timedelta(days=7),
        planned_end=sunday + timedelta(days=7, hours=3),
    )
    lifecycle.submit(engineer, firmware.pk)
    _change(
        engineer,
        title="Replace the ED wristband printer",
        services=["PRINT"],
        implementation_plan="Swap the printer, add it to the ED queue, print a test band.",
        backout_plan="Put the old printer back.",
    )
