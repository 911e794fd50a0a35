"""The on-call API, one router per part (each a module of this package)."""

from ninja import Router

from careline.oncall.api import config, delivery, pages, schedules

router = Router()
for part in (schedules, config, pages, delivery):
    router.add_router("/", part.router)
