"""Which queue a ticket goes to, and who in it gets the ticket."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Count, Q

from careline.core import rows
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
    return _next_in_turn(queue)


def _next_in_turn(queue: Queue) -> User | None:
    """Round robin: the first member on shift after the one who had the last ticket.

    One statement moves the queue's pointer and says where it landed, so two tickets routed
    at once go to different people (the second UPDATE waits for the first's row lock and
    then sees the moved pointer). It runs for every new ticket, hence hand-written SQL.
    """
    q, m, u = Queue._meta.db_table, QueueMember._meta.db_table, User._meta.db_table
    eligible = (
        f"SELECT MIN(m.user_id) FROM {m} m JOIN {u} u ON u.id = m.user_id "  # noqa: S608
        f"WHERE m.queue_id = {q}.id AND m.on_shift AND u.is_active"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {q} SET last_assigned_id = COALESCE("  # noqa: S608  (names from the models)
            f"({eligible} AND m.user_id > COALESCE({q}.last_assigned_id, 0)), ({eligible}), "
            f"last_assigned_id) WHERE id = %s RETURNING last_assigned_id",
            [queue.pk],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    # The pointer stays put when nobody is on shift: check the one it names still qualifies.
    chosen = rows.select(
        User,
        f"FROM {u} u JOIN {m} m ON m.user_id = u.id "
        f"WHERE u.id = %s AND m.queue_id = %s AND m.on_shift AND u.is_active",
        [row[0], queue.pk],
        table_alias="u",
    )
    return chosen[0][0] if chosen else None
