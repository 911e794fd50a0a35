"""On-call API: Pages: acknowledge, resolve, list, and paging someone by hand."""

from ninja import Router

router = Router(tags=["on-call"])
