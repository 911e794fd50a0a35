from careline.oncall.models.escalation import (
    EscalationLevel,
    EscalationPolicy,
    EscalationRoute,
    TargetKind,
    Urgency,
)
from careline.oncall.models.notifications import (
    TARGET_CHANNELS,
    Channel,
    DeliveryStatus,
    Notification,
    WebhookTarget,
)
from careline.oncall.models.pages import Page, PageItem, PageKey, PageSource, PageStatus
from careline.oncall.models.people import ContactKind, ContactMethod, NotificationRule
from careline.oncall.models.schedules import CalendarFeed, Layer, LayerMember, Override, Schedule

__all__ = [
    "TARGET_CHANNELS",
    "CalendarFeed",
    "Channel",
    "ContactKind",
    "ContactMethod",
    "DeliveryStatus",
    "EscalationLevel",
    "EscalationPolicy",
    "EscalationRoute",
    "Layer",
    "LayerMember",
    "Notification",
    "NotificationRule",
    "Override",
    "Page",
    "PageItem",
    "PageKey",
    "PageSource",
    "PageStatus",
    "Schedule",
    "TargetKind",
    "Urgency",
    "WebhookTarget",
]
