"""On-call API: Schedules, rotations, overrides, shift swaps, who is on call now."""

from ninja import Router

router = Router(tags=["on-call"])
