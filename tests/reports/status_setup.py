"""Plain rows for the status page tests: monitors with a given status, maintenance windows
and downtime events, made the way the engine and the services leave them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from careline.continuity.models import DowntimeEvent
from careline.continuity.services import downtime
from careline.core import services
from careline.core.models import ClinicalService
from careline.monitoring.models import Monitor
from careline.monitoring.services import maintenance

# A Tuesday morning: the clock of every test that needs one.
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def service(code: str, name: str, tier: int = 2) -> ClinicalService:
    return services.create_service(None, code=code, name=name, tier=tier)


def monitor(
    name: str,
    status: str,
    service_code: str | None = "EHR",
    *,
    since: datetime | None = None,
    paused: bool = False,
    tags: list[str] | None = None,
) -> Monitor:
    now = timezone.now()
    return Monitor.objects.create(
        name=name,
        kind="tcp",
        config={"host": "127.0.0.1", "port": 9},
        service=ClinicalService.objects.get(code=service_code) if service_code else None,
        status=status,
        status_since=since or now - timedelta(hours=1),
        paused=paused,
        tags=tags or [],
        created_at=now,
        updated_at=now,
    )


def many_monitors(count: int, service_code: str, status: str = "up") -> None:
    now = timezone.now()
    svc = ClinicalService.objects.get(code=service_code)
    Monitor.objects.bulk_create(
        Monitor(
            name=f"{service_code} node {i}",
            kind="tcp",
            config={"host": "127.0.0.1", "port": 9},
            service=svc,
            status=status,
            status_since=now,
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    )


def window(name: str, starts_at: datetime, ends_at: datetime | None, **scope: Any) -> Any:
    return maintenance.create_window(None, name=name, starts_at=starts_at, ends_at=ends_at, **scope)


def unplanned_downtime(title: str, codes: list[str]) -> DowntimeEvent:
    return downtime.declare(
        None,
        downtime.DowntimeDraft(
            title=title, kind="unplanned", services=codes, starts_at=timezone.now()
        ),
    )
