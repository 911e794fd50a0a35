from careline.continuity.models.downtime import (
    ChecklistItem,
    ChecklistKind,
    DowntimeEvent,
    DowntimeKind,
    DowntimeProcedure,
    DowntimeStatus,
    DowntimeUpdate,
)

__all__ = [
    "ChecklistItem",
    "ChecklistKind",
    "DowntimeEvent",
    "DowntimeKind",
    "DowntimeProcedure",
    "DowntimeStatus",
    "DowntimeUpdate",
]
