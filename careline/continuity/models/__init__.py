from careline.continuity.models.downtime import (
    ChecklistItem,
    ChecklistKind,
    DowntimeEvent,
    DowntimeKind,
    DowntimeProcedure,
    DowntimeStatus,
    DowntimeUpdate,
)
from careline.continuity.models.recovery import (
    BackupJob,
    DrDrill,
    RecoveryPlan,
    RestoreResult,
    RestoreTest,
)

__all__ = [
    "BackupJob",
    "ChecklistItem",
    "ChecklistKind",
    "DowntimeEvent",
    "DowntimeKind",
    "DowntimeProcedure",
    "DowntimeStatus",
    "DowntimeUpdate",
    "DrDrill",
    "RecoveryPlan",
    "RestoreResult",
    "RestoreTest",
]
