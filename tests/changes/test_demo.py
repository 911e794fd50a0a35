"""The demo hospital's changes: loaded twice, the same template, blackouts and three changes,
one approved with its maintenance window, one waiting for the advisory board, one draft."""

from __future__ import annotations

import pytest

from careline.changes import demo
from careline.changes.models import Blackout, Change, ChangeTemplate
from careline.core import demo as core_demo
from careline.monitoring import demo as monitoring_demo


def test_the_demo_changes_load_once(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo's places, people and monitors, then its changes; not the knowledge base (slow).
    monkeypatch.setattr(core_demo, "DEMO_STEPS", [monitoring_demo.load, demo.load])
    sink = type("Sink", (), {"write": lambda self, msg: None})()
    core_demo.load_demo(out=sink)
    core_demo.load_demo(out=sink)
    assert ChangeTemplate.objects.count() == 1
    assert Blackout.objects.count() == 2
    states = dict(Change.objects.values_list("title", "state"))
    assert states == {
        "Patch the EHR application servers": "scheduled",
        "PACS archive firmware upgrade": "submitted",
        "Replace the ED wristband printer": "draft",
    }
    patch = Change.objects.get(title="Patch the EHR application servers")
    assert patch.maintenance_window is not None
    assert patch.blocking_conflicts == []
