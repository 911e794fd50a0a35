"""How the desk is set up: queues and who is on them, routing rules, SLA targets, business
hours and holidays. Admins change these (agents toggle their own shift); each change is
audited and clears the per-process caches that hold the old setup."""

from __future__ import annotations

from datetime import date, time

from django.db import IntegrityError, transaction

from careline.core import audit, cached
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.core.services import (
    clean_code,
    clean_name,
    save_new_coded,
    service_by_code,
    site_by_code,
    user_by_username,
)
from careline.servicedesk.choices import AssignmentStrategy, Kind, Priority
from careline.servicedesk.models import (
    BusinessCalendar,
    Holiday,
    Queue,
    QueueMember,
    RoutingRule,
    SlaPolicy,
)
from careline.servicedesk.services.tickets import choice, is_staff

QUEUE_FIELDS = ["code", "name", "strategy", "is_security", "manager_id"]


def _forget_cached_setup() -> None:
    """This process forgets at once; other workers within their cache lifetime (a minute)."""
    cached.forget(
        "sla:policies",
        "routing:rules",
        "routing:queue:SERVICEDESK",
        "routing:queue:SECURITY",
        "desk:queue-names",
    )


def queue_by_code(code: str, field: str = "queue") -> Queue:
    try:
        return Queue.objects.get(code=code)
    except Queue.DoesNotExist:
        raise NotFound(f"no queue has code {code[:40]!r}", field=field) from None


def create_queue(
    actor: User,
    *,
    code: str,
    name: str,
    strategy: str = AssignmentStrategy.MANUAL,
    is_security: bool = False,
    manager: str | None = None,
) -> Queue:
    require(actor, Perm.DESK_MANAGE)
    choice(strategy, AssignmentStrategy, "strategy")
    queue = Queue(
        code=clean_code(code),
        name=clean_name(name),
        strategy=strategy,
        is_security=is_security,
        manager=user_by_username(manager, field="manager") if manager else None,
    )
    queue = save_new_coded(queue, actor, noun="queue", fields=QUEUE_FIELDS)
    _forget_cached_setup()
    return queue


def set_membership(
    actor: User, queue_code: str, username: str, *, member: bool, on_shift: bool = True
) -> None:
    """Add someone to a queue (or take them off it). Admins only."""
    require(actor, Perm.DESK_MANAGE)
    queue = queue_by_code(queue_code)
    user = user_by_username(username, field="username")
    if member and (not is_staff(user) or user.role == "auditor"):
        raise InvalidInput(
            f"{user.username} is not IT staff who can work tickets", field="username"
        )
    with transaction.atomic():
        if member:
            QueueMember.objects.update_or_create(
                queue=queue, user=user, defaults={"on_shift": on_shift}
            )
        else:
            QueueMember.objects.filter(queue=queue, user=user).delete()
        audit.record(
            "queue.member" if member else "queue.member_removed",
            actor=actor,
            obj=queue,
            summary=f"{user.username} {'added to' if member else 'removed from'} queue {queue.code}",
            after={"username": user.username, "on_shift": on_shift if member else None},
        )


def set_shift(
    actor: User, queue_code: str, *, on_shift: bool, username: str | None = None
) -> QueueMember:
    """Going on or off shift: agents for themselves, admins for anyone."""
    queue = queue_by_code(queue_code)
    user = (
        actor
        if username in (None, actor.username)
        else user_by_username(username or "", field="username")
    )
    if user != actor:
        require(actor, Perm.DESK_MANAGE)
    with transaction.atomic():
        membership = QueueMember.objects.select_for_update().filter(queue=queue, user=user).first()
        if membership is None:
            raise NotFound(
                f"{user.username} is not a member of queue {queue.code}", field="username"
            )
        membership.on_shift = on_shift
        membership.save(update_fields=["on_shift"])
        audit.record(
            "queue.shift",
            actor=actor,
            obj=queue,
            summary=f"{user.username} {'on' if on_shift else 'off'} shift in queue {queue.code}",
            after={"username": user.username, "on_shift": on_shift},
        )
    return membership


def add_routing_rule(
    actor: User,
    *,
    queue: str,
    order: int = 100,
    service: str | None = None,
    kind: str = "",
    site: str | None = None,
    keyword: str = "",
) -> RoutingRule:
    require(actor, Perm.DESK_MANAGE)
    if kind:
        choice(kind, Kind, "kind")
    if not (0 <= order <= 100_000):
        raise InvalidInput(f"must be between 0 and 100000 (got {order})", field="order")
    keyword = keyword.strip()
    if len(keyword) > 64:
        raise InvalidInput(f"must be at most 64 characters (got {len(keyword)})", field="keyword")
    rule = RoutingRule(
        order=order,
        queue=queue_by_code(queue),
        kind=kind,
        keyword=keyword,
        service=service_by_code(service) if service else None,
        site=site_by_code(site) if site else None,
    )
    if not (rule.service_id or rule.kind or rule.site_id or rule.keyword):
        raise InvalidInput(
            "a rule needs at least one condition (service, kind, site or keyword)", field="body"
        )
    with transaction.atomic():
        rule.save()
        audit.record(
            "routing_rule.create",
            actor=actor,
            obj=rule,
            summary=f"Routing rule {rule.order} to {rule.queue.code}",
            after={
                "queue": rule.queue.code,
                "service": service,
                "kind": kind,
                "site": site,
                "keyword": keyword,
            },
        )
    _forget_cached_setup()
    return rule


def delete_routing_rule(actor: User, rule_id: int) -> None:
    require(actor, Perm.DESK_MANAGE)
    with transaction.atomic():
        rule = RoutingRule.objects.select_related("queue").filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(f"no routing rule has id {rule_id}", field="id")
        audit.record(
            "routing_rule.delete",
            actor=actor,
            obj=rule,
            summary=f"Routing rule {rule.order} to {rule.queue.code} deleted",
        )
        rule.delete()
    _forget_cached_setup()


def set_sla_policy(
    actor: User,
    *,
    kind: str,
    priority: str,
    respond_minutes: int,
    resolve_minutes: int,
    business_hours: bool,
) -> SlaPolicy:
    """New targets apply to tickets opened (or re-prioritised) from now on."""
    require(actor, Perm.DESK_MANAGE)
    choice(kind, Kind, "kind")
    choice(priority, Priority, "priority")
    for field, value in (
        ("respond_minutes", respond_minutes),
        ("resolve_minutes", resolve_minutes),
    ):
        if not (1 <= value <= 365 * 24 * 60):
            raise InvalidInput(f"must be between 1 and 525600 (got {value})", field=field)
    if resolve_minutes < respond_minutes:
        raise InvalidInput("must not be shorter than respond_minutes", field="resolve_minutes")
    with transaction.atomic():
        policy = SlaPolicy.objects.select_for_update().filter(kind=kind, priority=priority).first()
        before = (
            None
            if policy is None
            else audit.snapshot(policy, ["respond_minutes", "resolve_minutes", "business_hours"])
        )
        policy = policy or SlaPolicy(kind=kind, priority=priority)
        policy.respond_minutes, policy.resolve_minutes = respond_minutes, resolve_minutes
        policy.business_hours = business_hours
        policy.save()
        audit.record(
            "sla_policy.set",
            actor=actor,
            obj=policy,
            summary=f"SLA {kind} {priority}: respond {respond_minutes} min, resolve {resolve_minutes} min",
            before=before,
            after=audit.snapshot(policy, ["respond_minutes", "resolve_minutes", "business_hours"]),
        )
    _forget_cached_setup()
    return policy


def set_business_hours(
    actor: User, site: str, *, opens: time, closes: time, weekdays: list[int]
) -> BusinessCalendar:
    require(actor, Perm.DESK_MANAGE)
    the_site = site_by_code(site)
    if closes <= opens:
        raise InvalidInput(f"must be after opens ({opens:%H:%M})", field="closes")
    days = sorted(set(weekdays))
    if not days or any(d < 0 or d > 6 for d in days):
        raise InvalidInput("give one or more weekdays, 0 (Monday) to 6 (Sunday)", field="weekdays")
    with transaction.atomic():
        calendar, _ = BusinessCalendar.objects.update_or_create(
            site=the_site,
            defaults={"opens": opens, "closes": closes, "weekdays": ",".join(map(str, days))},
        )
        audit.record(
            "business_hours.set",
            actor=actor,
            obj=the_site,
            summary=f"{the_site.code} business hours {opens:%H:%M}-{closes:%H:%M} on {days}",
            after={"opens": opens.isoformat(), "closes": closes.isoformat(), "weekdays": days},
        )
    cached.forget(f"sla:calendar:{the_site.pk}")
    return calendar


def add_holiday(actor: User, site: str, *, day: date, name: str) -> Holiday:
    require(actor, Perm.DESK_MANAGE)
    the_site = site_by_code(site)
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("give the holiday a name of at most 100 characters", field="name")
    try:
        with transaction.atomic():
            holiday = Holiday.objects.create(site=the_site, date=day, name=name)
            audit.record(
                "holiday.create",
                actor=actor,
                obj=the_site,
                summary=f"{the_site.code} holiday {day} {name}",
            )
    except IntegrityError:
        raise Conflict(f"{the_site.code} already has a holiday on {day}", field="date") from None
    cached.forget(f"sla:calendar:{the_site.pk}")
    return holiday
