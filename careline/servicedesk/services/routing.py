"""Which queue a ticket goes to, and who in it gets the ticket."""

from __future__ import annotations

import re

from django.db.models import Count, Q

from careline.core.cached import cached
from careline.core.models import User
from careline.servicedesk.choices import AssignmentStrategy, Kind
from careline.servicedesk.models import Queue, QueueMember, RoutingRule, Ticket
from careline.servicedesk.services import sla

DEFAULT_QUEUE = "SERVICEDESK"
SECURITY_QUEUE = "SECURITY"


def _matches(rule: RoutingRule, ticket: Ticket) -> bool:
    if rule.service_id is not None and rule.service_id != ticket.service_id:
        return False
    if rule.kind and rule.kind != ticket.kind:
        return False
    if rule.site_id is not None and rule.site_id != ticket.site_id:
        return False
    if rule.keyword:
        word = re.compile(rf"\b{re.escape(rule.keyword)}\b", re.IGNORECASE)
        if not (word.search(ticket.title) or word.search(ticket.description)):
            return False
    return True


def route(ticket: Ticket) -> Queue | None:
    """The first active rule that matches; otherwise security incidents to the security queue
    and everything else to the service desk."""
    rules: list[RoutingRule] = cached("routing:rules", _active_rules, sla.CONFIG_CACHE_SECONDS)
    for rule in rules:
        if _matches(rule, ticket):
            return rule.queue
    fallback = SECURITY_QUEUE if ticket.kind == Kind.SECURITY else DEFAULT_QUEUE
    queue: Queue | None = cached(
        f"routing:queue:{fallback}",
        lambda: Queue.objects.filter(code=fallback).first(),
        sla.CONFIG_CACHE_SECONDS,
    )
    return queue


def _active_rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(active=True).select_related("queue"))


def pick_assignee(queue: Queue) -> User | None:
    """Round robin or least loaded among the queue's members who are on shift and active."""
    if queue.strategy == AssignmentStrategy.MANUAL:
        return None
    on_shift = QueueMember.objects.filter(queue=queue, on_shift=True, user__is_active=True)
    if queue.strategy == AssignmentStrategy.LEAST_LOADED:
        member = (
            on_shift.annotate(
                load=Count(
                    "user__tickets_assigned",
                    filter=Q(user__tickets_assigned__done=False),
                )
            )
            .order_by("load", "user_id")
            .values_list("user_id", flat=True)
            .first()
        )
        return User.objects.get(pk=member) if member is not None else None
    # The members with their accounts in one query: the chosen one is returned as it is.
    members = {m.user_id: m.user for m in on_shift.select_related("user").order_by("user_id")}
    if not members:
        return None
    ids = list(members)
    chosen = ids[0]
    for _ in range(5):
        pointer = (
            Queue.objects.filter(pk=queue.pk).values_list("last_assigned_id", flat=True).first()
        )
        chosen = next((m for m in ids if m > (pointer or 0)), ids[0])
        # Conditional on the pointer just read: of two tickets routed at once, one moves the
        # pointer and the other reads it again, so they go to different people.
        if Queue.objects.filter(pk=queue.pk, last_assigned_id=pointer).update(
            last_assigned_id=chosen
        ):
            break
    return members[chosen]
