"""Escalation policies (who is told, in what order, and how long each level has to
acknowledge) and the routes that choose a policy by priority and service.

A policy is saved whole: its levels are replaced together, checked together, and a
hand-over chain that would come back to a policy already in it is refused, so the paging
code can walk hand-overs without ever going round in circles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from careline.core import audit
from careline.core.cached import cached, forget
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require
from careline.core.services import clean_code, clean_name, user_by_username
from careline.oncall.models import (
    ContactKind,
    EscalationLevel,
    EscalationPolicy,
    EscalationRoute,
    Page,
    Schedule,
    TargetKind,
    Urgency,
)
from careline.oncall.services.contacts import clean_priority

MAX_WAIT_MINUTES = 1440
MAX_REPEAT = 9
MAX_LEVELS = 50
ROUTES_CACHE_KEY = "oncall:routes"
# Other processes see a route change within this long; this one at once.
ROUTES_CACHE_SECONDS = 60
# P3 and P4 may wait for business hours; P1 and P2 (and routes for any priority, which
# catch them too) always page at once, day and night.
BUSINESS_HOURS_PRIORITIES = ("P3", "P4")

# The field a level of each kind must name; the others must stay empty.
_TARGET_FIELD = {
    TargetKind.SCHEDULE.value: "schedule",
    TargetKind.PERSON.value: "user",
    TargetKind.QUEUE.value: "queue",
    TargetKind.POLICY.value: "handover",
}
_TARGET_NOUN = {
    "schedule": "a schedule",
    "user": "a person",
    "queue": "a queue",
    "handover": "a policy to hand over to",
}
_CHANNEL_WORDS = {
    ContactKind.EMAIL.value: "email",
    ContactKind.SMS.value: "SMS",
    ContactKind.VOICE.value: "phone call",
    ContactKind.CHAT.value: "chat",
}


def _queue_model() -> type[models.Model]:
    # servicedesk.Queue, reached through the foreign key: the on-call app must not import the
    # service desk, which imports it.
    return cast(type[models.Model], EscalationLevel._meta.get_field("queue").related_model)


# --- reading -------------------------------------------------------------------------------


def _policies() -> models.QuerySet[EscalationPolicy]:
    return EscalationPolicy.objects.select_related("final_user").prefetch_related(
        models.Prefetch(
            "levels",
            queryset=EscalationLevel.objects.select_related(
                "schedule", "user", "queue", "handover"
            ).order_by("position"),
        )
    )


def list_policies(actor: User) -> list[EscalationPolicy]:
    require(actor, Perm.ONCALL_VIEW)
    return list(_policies().order_by("code"))


def policy_by_code(code: str, field: str = "code") -> EscalationPolicy:
    found = _policies().filter(code=code).first()
    if found is None:
        raise NotFound(f"no escalation policy has code {code[:40]!r}", field=field)
    return found


def get_policy(actor: User, code: str) -> EscalationPolicy:
    require(actor, Perm.ONCALL_VIEW)
    return policy_by_code(code)


def _minutes(n: int) -> str:
    return f"{n} minute{'s' if n != 1 else ''}"


def channels_text(channels: Sequence[str]) -> str:
    if not channels:
        return "by their own notification rules"
    words = [_CHANNEL_WORDS.get(c, c) for c in channels]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"by {joined}"


def level_text(level: EscalationLevel) -> str:
    """'1. Whoever is on call on IT-ONCALL, by SMS; 5 minutes to acknowledge'."""
    number = f"{level.position}."
    if level.target_kind == TargetKind.POLICY:
        code = level.handover.code if level.handover else "?"
        return f"{number} Hand over to policy {code}"
    if level.target_kind == TargetKind.SCHEDULE:
        who = f"Whoever is on call on {level.schedule.code if level.schedule else '?'}"
    elif level.target_kind == TargetKind.QUEUE:
        queue = cast(Any, level.queue)
        who = f"Whoever is on shift in queue {queue.code if queue else '?'}"
    else:
        who = level.user.display_name if level.user else "?"
    return (
        f"{number} {who}, {channels_text(level.channels)}; "
        f"{_minutes(level.wait_minutes)} to acknowledge"
    )


def closing_text(policy: EscalationPolicy) -> str:
    """What happens when nobody acknowledges: the repeats, then the final person."""
    if policy.repeat:
        times = "once more" if policy.repeat == 1 else f"{policy.repeat} more times"
        first = f"Repeat the levels {times} while nobody acknowledges"
    else:
        first = "The levels run once"
    if policy.final_user:
        final = f"{policy.final_user.display_name} ({policy.final_user.username})"
    elif settings.ONCALL_FINAL_USERNAME:
        final = f"{settings.ONCALL_FINAL_USERNAME} (CareLine's default final contact)"
    else:
        return f"{first}; nobody further is named."
    return f"{first}; then {final} is told."


def _snapshot(policy: EscalationPolicy, levels: Sequence[EscalationLevel]) -> dict[str, Any]:
    return {
        "code": policy.code,
        "name": policy.name,
        "description": policy.description,
        "repeat": policy.repeat,
        "final_user": policy.final_user.username if policy.final_user else None,
        "levels": [level_text(level) for level in levels],
    }


# --- checking a policy ---------------------------------------------------------------------


def _int_in(value: object, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise InvalidInput(f"must be between {low} and {high} (got {value!r})", field=field)
    return value


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"must be text (got {value!r})", field=field)
    return value.strip()


def _clean_channels(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidInput("must be a list of channel names", field=field)
    channels: list[str] = []
    for item in value:
        name = str(item)
        if name not in ContactKind.values:
            raise InvalidInput(
                f"unknown channel {name[:40]!r}; use {', '.join(ContactKind.values)}",
                field=field,
            )
        if name not in channels:
            channels.append(name)
    return channels


def _find_loop(start: str, edges: Mapping[str, set[str]]) -> list[str] | None:
    """The hand-over chain from `start` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for following in sorted(edges.get(node, ()), reverse=True):
            if following == start:
                return [*path, start]
            if following not in seen:
                seen.add(following)
                stack.append((following, [*path, following]))
    return None


def _levels(code: str, specs: Sequence[Mapping[str, Any]]) -> list[EscalationLevel]:
    """The levels, checked and with their targets looked up (a few queries in all), or the
    first problem as InvalidInput/NotFound naming `levels.<i>.<field>`. Call with the
    policies locked: the loop check reads every other policy's hand-overs."""
    if not isinstance(specs, list | tuple) or not specs:
        raise InvalidInput("a policy needs at least one level", field="levels")
    if len(specs) > MAX_LEVELS:
        raise InvalidInput(f"at most {MAX_LEVELS} levels (got {len(specs)})", field="levels")
    wanted: dict[str, set[str]] = {name: set() for name in _TARGET_FIELD.values()}
    cleaned: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        at = f"levels.{i}"
        if not isinstance(spec, Mapping):
            raise InvalidInput("must be an object", field=at)
        kind = _text(spec.get("target_kind"), f"{at}.target_kind")
        if kind not in _TARGET_FIELD:
            raise InvalidInput(
                f"must be one of {', '.join(TargetKind.values)} (got {kind[:40]!r})",
                field=f"{at}.target_kind",
            )
        values = {name: _text(spec.get(name), f"{at}.{name}") for name in _TARGET_FIELD.values()}
        needed = _TARGET_FIELD[kind]
        if not values[needed]:
            raise InvalidInput(
                f"a {kind} level needs {_TARGET_NOUN[needed]}", field=f"{at}.{needed}"
            )
        for name, value in values.items():
            if name != needed and value:
                raise InvalidInput(
                    f"a {kind} level names {_TARGET_NOUN[needed]}, not {_TARGET_NOUN[name]}",
                    field=f"{at}.{name}",
                )
        channels = _clean_channels(spec.get("channels"), f"{at}.channels")
        if kind == TargetKind.POLICY and channels:
            raise InvalidInput(
                "a hand-over level uses the channels of the policy it hands over to",
                field=f"{at}.channels",
            )
        wait = _int_in(spec.get("wait_minutes", 5), 1, MAX_WAIT_MINUTES, f"{at}.wait_minutes")
        wanted[needed].add(values[needed])
        item: dict[str, Any] = {"kind": kind, "needed": needed, "ref": values[needed], "at": at}
        cleaned.append({**item, "wait": wait, "channels": channels})

    _refuse_loops(code, cleaned)
    # One query per kind of target, however many levels name one.
    found: dict[str, Mapping[str, Any]] = {
        "schedule": Schedule.objects.in_bulk(list(wanted["schedule"]), field_name="code"),
        "user": User.objects.in_bulk(list(wanted["user"]), field_name="username"),
        "queue": _queue_model()._default_manager.in_bulk(list(wanted["queue"]), field_name="code"),
        "handover": EscalationPolicy.objects.in_bulk(list(wanted["handover"]), field_name="code"),
    }
    nouns = {"schedule": "schedule", "user": "user", "queue": "queue", "handover": "policy"}
    levels = []
    for position, item in enumerate(cleaned, start=1):
        needed, ref, at = item["needed"], item["ref"], item["at"]
        target = found[needed].get(ref)
        if target is None:
            name = "is named" if needed == "user" else "has code"
            raise NotFound(f"no {nouns[needed]} {name} {ref[:40]!r}", field=f"{at}.{needed}")
        if needed == "user" and not target.is_active:
            raise InvalidInput(f"{ref} is deactivated", field=f"{at}.user")
        level = EscalationLevel(
            position=position,
            target_kind=item["kind"],
            channels=item["channels"],
            wait_minutes=item["wait"],
        )
        setattr(level, needed, target)
        levels.append(level)
    return levels


def _refuse_loops(code: str, cleaned: Sequence[Mapping[str, Any]]) -> None:
    edges: dict[str, set[str]] = {}
    for owner, handover in (
        EscalationLevel.objects.filter(target_kind=TargetKind.POLICY, handover__isnull=False)
        .exclude(policy__code=code)
        .values_list("policy__code", "handover__code")
    ):
        edges.setdefault(owner, set()).add(handover)
    mine = {item["ref"]: item["at"] for item in cleaned if item["needed"] == "handover"}
    edges[code] = set(mine)
    loop = _find_loop(code, edges)
    if loop is not None:
        raise InvalidInput(
            f"hand-over loop {' -> '.join(loop)}: a page would go round it forever",
            field=f"{mine[loop[1]]}.handover",
        )


def _lock_policies() -> None:
    # Two edits saved at once (A hands over to B, B to A) could each pass the loop check
    # alone. Policy edits are rare, so they take turns: every policy row is locked, in one
    # order so that two editors cannot deadlock. (SQLite's write lock already serialises.)
    list(EscalationPolicy.objects.select_for_update().order_by("pk").values_list("pk"))


def _clean_header(
    name: Any, description: Any, repeat: Any, final_user: str | None
) -> tuple[str, str, int, User | None]:
    name = clean_name(_text(name, "name"))
    description = _text(description, "description")
    if len(description) > 5000:
        raise InvalidInput(
            f"must be at most 5000 characters (got {len(description)})", field="description"
        )
    repeat = _int_in(repeat, 0, MAX_REPEAT, "repeat")
    final = user_by_username(final_user, field="final_user") if final_user else None
    return name, description, repeat, final


# --- changing policies ---------------------------------------------------------------------


def _duplicate(code: str) -> Conflict:
    return Conflict(f"an escalation policy with code {code!r} already exists", field="code")


def create_policy(
    actor: User,
    *,
    code: str,
    name: str,
    levels: Sequence[Mapping[str, Any]],
    description: str = "",
    repeat: int = 1,
    final_user: str | None = None,
) -> EscalationPolicy:
    require(actor, Perm.ONCALL_MANAGE)
    code = clean_code(code)
    name, description, repeat, final = _clean_header(name, description, repeat, final_user)
    try:
        with transaction.atomic():
            _lock_policies()
            if EscalationPolicy.objects.filter(code=code).exists():
                raise _duplicate(code)
            new_levels = _levels(code, levels)
            policy = EscalationPolicy.objects.create(
                code=code,
                name=name,
                description=description,
                repeat=repeat,
                final_user=final,
                created_at=timezone.now(),
            )
            for level in new_levels:
                level.policy = policy
            EscalationLevel.objects.bulk_create(new_levels)
            audit.record(
                "escalation_policy.create",
                actor=actor,
                obj=policy,
                summary=f"Escalation policy {code} created with {len(new_levels)} levels",
                after=_snapshot(policy, new_levels),
            )
    except IntegrityError:
        # Two creations racing: the second insert fails on the unique code.
        raise _duplicate(code) from None
    forget(ROUTES_CACHE_KEY)
    return policy_by_code(code)


def replace_policy(
    actor: User,
    code: str,
    *,
    name: str,
    levels: Sequence[Mapping[str, Any]],
    description: str = "",
    repeat: int = 1,
    final_user: str | None = None,
) -> EscalationPolicy:
    """The policy as given, levels and all; pages already escalating follow the new levels
    from their next step."""
    require(actor, Perm.ONCALL_MANAGE)
    name, description, repeat, final = _clean_header(name, description, repeat, final_user)
    with transaction.atomic():
        _lock_policies()
        policy = policy_by_code(code)
        before = _snapshot(policy, list(policy.levels.all()))
        new_levels = _levels(policy.code, levels)
        policy.name, policy.description, policy.repeat = name, description, repeat
        policy.final_user = final
        policy.save(update_fields=["name", "description", "repeat", "final_user"])
        EscalationLevel.objects.filter(policy=policy).delete()
        for level in new_levels:
            level.policy = policy
        EscalationLevel.objects.bulk_create(new_levels)
        audit.record(
            "escalation_policy.replace",
            actor=actor,
            obj=policy,
            summary=f"Escalation policy {policy.code} replaced ({len(new_levels)} levels)",
            before=before,
            after=_snapshot(policy, new_levels),
        )
    forget(ROUTES_CACHE_KEY)
    return policy_by_code(policy.code)


def _policy_uses(policy: EscalationPolicy) -> list[str]:
    uses: list[str] = []
    routes = list(
        EscalationRoute.objects.filter(policy=policy).select_related("service").order_by("position")
    )
    if routes:
        uses.append("routes " + ", ".join(route_label(r) for r in routes))
    handing = list(
        EscalationLevel.objects.filter(handover=policy)
        .exclude(policy=policy)
        .order_by("policy__code", "position")
        .values_list("policy__code", "position")
    )
    if handing:
        uses.append(
            "hand-overs from " + ", ".join(f"{owner} level {pos}" for owner, pos in handing)
        )
    pages = Page.objects.filter(Q(policy=policy) | Q(current_policy=policy)).count()
    if pages:
        uses.append(f"{pages} page{'s' if pages != 1 else ''}")
    return uses


def delete_policy(actor: User, code: str) -> None:
    require(actor, Perm.ONCALL_MANAGE)
    with transaction.atomic():
        _lock_policies()
        policy = policy_by_code(code)
        uses = _policy_uses(policy)
        if uses:
            raise Conflict(
                f"escalation policy {policy.code} is used by {'; '.join(uses)}", field="code"
            )
        audit.record(
            "escalation_policy.delete",
            actor=actor,
            obj=policy,
            summary=f"Escalation policy {policy.code} deleted",
            before=_snapshot(policy, list(policy.levels.all())),
        )
        policy.delete()
    forget(ROUTES_CACHE_KEY)


# --- routes --------------------------------------------------------------------------------


def route_label(route: EscalationRoute) -> str:
    service = route.service.code if route.service else "any service"
    return f"{route.priority or 'any priority'} {service}"


def route_text(route: EscalationRoute) -> str:
    """'P1, any service: page at once with CLINICAL'."""
    priority = route.priority or "Any priority"
    service = route.service.code if route.service else "any service"
    how = "page at once" if route.urgency == Urgency.PAGE else "email in business hours"
    off = " (switched off)" if not route.active else ""
    return f"{priority}, {service}: {how} with {route.policy.code}{off}"


def list_routes(actor: User) -> list[EscalationRoute]:
    require(actor, Perm.ONCALL_VIEW)
    return list(
        EscalationRoute.objects.select_related("service", "policy").order_by("position", "id")
    )


def _route(i: int, spec: Mapping[str, Any]) -> EscalationRoute:
    at = f"routes.{i}"
    if not isinstance(spec, Mapping):
        raise InvalidInput("must be an object", field=at)
    priority = clean_priority(_text(spec.get("priority"), f"{at}.priority"), f"{at}.priority")
    service_code = _text(spec.get("service"), f"{at}.service")
    service = None
    if service_code:
        service = ClinicalService.objects.filter(code=service_code).first()
        if service is None:
            raise NotFound(
                f"no clinical service has code {service_code[:40]!r}", field=f"{at}.service"
            )
    policy_code = _text(spec.get("policy"), f"{at}.policy")
    if not policy_code:
        raise InvalidInput("a route needs the code of an escalation policy", field=f"{at}.policy")
    policy = EscalationPolicy.objects.filter(code=policy_code).first()
    if policy is None:
        raise NotFound(f"no escalation policy has code {policy_code[:40]!r}", field=f"{at}.policy")
    urgency = _text(spec.get("urgency"), f"{at}.urgency") or (
        Urgency.BUSINESS_HOURS.value
        if priority in BUSINESS_HOURS_PRIORITIES
        else Urgency.PAGE.value
    )
    if urgency not in Urgency.values:
        raise InvalidInput(
            f"must be one of {', '.join(Urgency.values)} (got {urgency[:40]!r})",
            field=f"{at}.urgency",
        )
    if urgency == Urgency.BUSINESS_HOURS and priority not in BUSINESS_HOURS_PRIORITIES:
        raise InvalidInput(
            f"{priority or 'a route for any priority'} pages at once, day and night; "
            "business_hours is only for P3 and P4",
            field=f"{at}.urgency",
        )
    active = spec.get("active", True)
    if not isinstance(active, bool):
        raise InvalidInput(f"must be true or false (got {active!r})", field=f"{at}.active")
    return EscalationRoute(
        position=(i + 1) * 10,
        priority=priority,
        service=service,
        policy=policy,
        urgency=urgency,
        active=active,
    )


def set_routes(actor: User, routes: Sequence[Mapping[str, Any]]) -> list[EscalationRoute]:
    """Replace the whole ordered list of routes (an empty list removes them all)."""
    require(actor, Perm.ONCALL_MANAGE)
    if not isinstance(routes, list | tuple):
        raise InvalidInput("must be a list of routes", field="routes")
    with transaction.atomic():
        new = [_route(i, spec) for i, spec in enumerate(routes)]
        before = [
            route_text(r)
            for r in EscalationRoute.objects.select_related("service", "policy").order_by(
                "position", "id"
            )
        ]
        EscalationRoute.objects.all().delete()
        EscalationRoute.objects.bulk_create(new)
        audit.record(
            "escalation_route.replace",
            actor=actor,
            object_type="oncall.escalationroute",
            object_id="all",
            summary=f"Escalation routes replaced ({len(new)} routes)",
            before={"routes": before},
            after={"routes": [route_text(r) for r in new]},
        )
    forget(ROUTES_CACHE_KEY)
    return list_routes(actor)


def delete_route(actor: User, route_id: int) -> None:
    require(actor, Perm.ONCALL_MANAGE)
    with transaction.atomic():
        route = (
            EscalationRoute.objects.select_for_update()
            .select_related("service", "policy")
            .filter(pk=route_id)
            .first()
        )
        if route is None:
            raise NotFound(f"no escalation route has id {route_id}", field="id")
        audit.record(
            "escalation_route.delete",
            actor=actor,
            obj=route,
            summary=f"Escalation route deleted: {route_text(route)}",
        )
        route.delete()
    forget(ROUTES_CACHE_KEY)


def _active_routes() -> list[EscalationRoute]:
    return list(
        EscalationRoute.objects.filter(active=True)
        .select_related("policy", "service")
        .order_by("position", "id")
    )


def match_route(priority: str, service_id: int | None) -> EscalationRoute | None:
    """The first active route (by position) for this priority and service: its priority
    blank or equal, its service none or equal. Read from a per-process copy; the returned
    route is shared, so callers must not change it."""
    routes: list[EscalationRoute] = cached(ROUTES_CACHE_KEY, _active_routes, ROUTES_CACHE_SECONDS)
    for route in routes:
        if route.priority and route.priority != priority:
            continue
        if route.service_id is not None and route.service_id != service_id:
            continue
        return route
    return None
