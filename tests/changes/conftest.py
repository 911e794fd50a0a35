from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from careline.changes.services import changes
from tests.conftest import Hospital

# A Tuesday night in winter, New York time (UTC-5): out of theatre hours.
START = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
END = datetime(2026, 2, 10, 5, 0, tzinfo=UTC)


@pytest.fixture
def make_change(hospital: Hospital) -> Any:
    """make_change(**fields): a normal change on the EHR raised by Priya (the agent)."""

    def make(requester: Any = None, **fields: Any) -> Any:
        data: dict[str, Any] = {
            "kind": "normal",
            "title": "Patch the EHR application servers",
            "services": ["EHR"],
            "clinical_impact": "degraded",
            "complexity": "medium",
            "tested": True,
            "out_of_hours": True,
            "implementation_plan": "Patch node 1, fail over, patch node 2.",
            "backout_plan": "Restore the VM snapshots.",
            "planned_start": START,
            "planned_end": END,
            **fields,
        }
        return changes.create_change(requester or hospital.agent, data)

    return make
