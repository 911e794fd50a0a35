"""Which queue a ticket goes to, and who in it gets the ticket."""

from __future__ import annotations

import re

from django.db.models import Count, Q

from careline.core.models import User
from careline.servicedesk.choices import OPEN_STATUSES, AssignmentStrategy, Kind
from careline.servicedesk.models import Queue, RoutingRule, Ticket

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
    for rule in RoutingRule.objects.filter(active=True).select_related("queue"):
        if _matches(rule, ticket):
            return rule.queue
    fallback = SECURITY_QUEUE if ticket.kind == Kind.SECURITY else DEFAULT_QUEUE
    return Queue.objects.filter(code=fallback).first()


def pick_assignee(queue: Queue) -> User | None:
    """Round robin or least loaded among the queue's members who are on shift and active."""
    if queue.strategy == AssignmentStrategy.MANUAL:
        return None
    members = User.objects.filter(
        queue_memberships__queue=queue, queue_memberships__on_shift=True, is_active=True
    ).order_by("id")
    if queue.strategy == AssignmentStrategy.LEAST_LOADED:
        return (
            members.annotate(
                load=Count("tickets_assigned", filter=Q(tickets_assigned__status__in=OPEN_STATUSES))
            )
            .order_by("load", "id")
            .first()
        )
    for _ in range(5):
        pointer = (
            Queue.objects.filter(pk=queue.pk).values_list("last_assigned_id", flat=True).first()
        )
        chosen = members.filter(id__gt=pointer or 0).first() or members.first()
        if chosen is None:
            return None
        # Conditional on the pointer just read: of two tickets routed at once, one moves the
        # pointer and the other reads it again, so they go to different people.
        if Queue.objects.filter(pk=queue.pk, last_assigned_id=pointer).update(last_assigned=chosen):
            return chosen
    return chosen
