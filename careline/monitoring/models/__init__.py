from careline.monitoring.models.history import (
    CheckRecord,
    HeartbeatPing,
    Rollup,
    RollupMark,
    ServiceDay,
)
from careline.monitoring.models.incidents import MaintenanceWindow, MonitorIncident
from careline.monitoring.models.monitors import Monitor

__all__ = [
    "CheckRecord",
    "HeartbeatPing",
    "MaintenanceWindow",
    "Monitor",
    "MonitorIncident",
    "Rollup",
    "RollupMark",
    "ServiceDay",
]
