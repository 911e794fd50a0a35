"""The demo hospital's monitors: loaded once, a second load changes nothing."""

from __future__ import annotations

import pytest

from careline.core import services
from careline.monitoring import demo
from careline.monitoring.models import Monitor
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


def test_demo_monitors_load_once(hospital: Hospital) -> None:
    services.create_service(None, code="PACS", name="PACS", tier=1)
    services.create_service(None, code="LIS", name="Laboratory", tier=1)
    demo.load()
    first = sorted(Monitor.objects.values_list("name", flat=True))
    demo.load()
    assert sorted(Monitor.objects.values_list("name", flat=True)) == first
    assert len(first) == len(demo.DEMO)
    # Checks of hosts that exist only in a real hospital are paused and say so.
    for monitor in Monitor.objects.exclude(kind="heartbeat"):
        assert monitor.paused
        assert "example host" in monitor.name
    web = Monitor.objects.get(name="EHR web (example host, paused)")
    assert [p.name for p in web.depends_on.all()] == ["EHR database (example host, paused)"]
    # Credentials in the demo's configs are stored encrypted like any other.
    database = Monitor.objects.get(kind="postgres")
    assert "dsn" not in database.config
    assert database.secrets
