from careline.servicedesk.models.queues import Queue, QueueMember, RoutingRule
from careline.servicedesk.models.sla import BusinessCalendar, Holiday, SlaPolicy
from careline.servicedesk.models.tickets import (
    AffectedPerson,
    Attachment,
    Comment,
    SavedView,
    Ticket,
    TicketCounter,
    TicketLink,
)

__all__ = [
    "AffectedPerson",
    "Attachment",
    "BusinessCalendar",
    "Comment",
    "Holiday",
    "Queue",
    "QueueMember",
    "RoutingRule",
    "SavedView",
    "SlaPolicy",
    "Ticket",
    "TicketCounter",
    "TicketLink",
]
