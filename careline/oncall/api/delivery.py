"""On-call API: The outbox seen from outside: notifications, the dead-letter list, retry."""

from ninja import Router

router = Router(tags=["on-call"])
