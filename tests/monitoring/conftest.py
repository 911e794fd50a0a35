from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from careline.monitoring.models import Monitor
from careline.monitoring.services import monitors
from tests.conftest import Hospital


@pytest.fixture
def make_monitor(hospital: Hospital) -> Any:
    """make_monitor(name, kind, config, interval_s=1, ...): a monitor due now.

    The API's 10-second floor on interval_s is for people; tests run the engine at 1 s.
    """

    def make(name: str, kind: str, config: dict[str, Any], **fields: Any) -> Monitor:
        fast = {k: fields.pop(k) for k in ("interval_s", "timeout_s") if k in fields}
        data = {
            "name": name,
            "kind": kind,
            "config": config,
            "interval_s": 10,
            "timeout_s": 2,
            "service": "EHR",
            "impact": {"care_effect": "blocked", "scope": "enterprise"},
            **fields,
        }
        monitor = monitors.create_monitor(None, data)
        Monitor.objects.filter(pk=monitor.pk).update(
            interval_s=fast.get("interval_s", 1),
            timeout_s=fast.get("timeout_s", 0.5),
            next_due_at=timezone.now(),
        )
        monitor.refresh_from_db()
        return monitor

    return make
