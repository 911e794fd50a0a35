"""On-call API: Contact methods, notification rules, escalation policies and routes, delivery targets."""

from ninja import Router

router = Router(tags=["on-call"])
