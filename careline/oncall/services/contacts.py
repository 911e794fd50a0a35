"""How each person is reached: their contact methods and notification rules, and the
delivery plan the paging code follows for them.

A person manages their own (every member of IT staff); an on-call manager may manage anyone's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, has_perm, require
from careline.core.services import user_by_username
from careline.oncall.models import (
    Channel,
    ContactKind,
    ContactMethod,
    NotificationRule,
    WebhookTarget,
)
from careline.oncall.phones import to_e164
from careline.oncall.services.targets import target_by_code

PRIORITIES = ("P1", "P2", "P3", "P4")
MAX_DELAY_MINUTES = 120
CHAT_TARGET_KINDS = (Channel.SLACK.value, Channel.TEAMS.value)
_KIND_CHANNEL = {
    ContactKind.EMAIL.value: Channel.EMAIL.value,
    ContactKind.SMS.value: Channel.SMS.value,
    ContactKind.VOICE.value: Channel.VOICE.value,
}
_email_validator = EmailValidator()


@dataclass(frozen=True)
class Step:
    channel: str  # a Channel value: email, sms, voice, slack, teams
    to: str  # address, E.164 number, chat handle (or target code)
    target: WebhookTarget | None
    delay_minutes: int


# --- who may manage whose ------------------------------------------------------------------


def person_for_change(actor: User, username: str | None) -> User:
    """The person whose contacts `actor` is changing: themselves, or anyone for a manager."""
    if not username or username == actor.username:
        require(actor, Perm.ONCALL_RESPOND)
        return actor
    require(actor, Perm.ONCALL_MANAGE)
    return user_by_username(username, field="user")


def person_for_reading(actor: User, username: str | None) -> User:
    """Contact details are personal: one's own, or anyone's for a manager or an auditor."""
    if not username or username == actor.username:
        require(actor, Perm.ONCALL_VIEW)
        return actor
    if not (has_perm(actor, Perm.ONCALL_MANAGE) or has_perm(actor, Perm.AUDIT_VIEW)):
        raise Forbidden(
            f"the {actor.role} role may read only its own contact methods ({Perm.ONCALL_MANAGE})"
        )
    return user_by_username(username, field="user")


def _check_owner(actor: User, owner: User) -> None:
    if owner.pk == actor.pk:
        require(actor, Perm.ONCALL_RESPOND)
    else:
        require(actor, Perm.ONCALL_MANAGE)


# --- contact methods -----------------------------------------------------------------------


def clean_address(kind: str, address: str) -> str:
    """The address in the form stored: a normalised email, an E.164 number, a handle."""
    address = address.strip()
    if not address:
        raise InvalidInput("must not be empty", field="address")
    if len(address) > 254:
        raise InvalidInput(f"must be at most 254 characters (got {len(address)})", field="address")
    if kind == ContactKind.EMAIL:
        try:
            _email_validator(address)
        except ValidationError:
            raise InvalidInput(
                f"must be a valid email address (got {address[:60]!r})", field="address"
            ) from None
        return BaseUserManager.normalize_email(address)
    if kind in (ContactKind.SMS, ContactKind.VOICE):
        return _e164(address)
    if any(c.isspace() for c in address):
        raise InvalidInput(
            f"a chat handle must not contain spaces (got {address[:60]!r})", field="address"
        )
    return address


def _e164(number: str) -> str:
    region = settings.PHONE_REGION
    found = to_e164(number, region)
    if found is None:
        raise InvalidInput(
            f"must be a valid phone number, with its country code (+44 ...) unless it is in "
            f"{region} (got {number[:40]!r})",
            field="address",
        )
    return found


def _chat_target(kind: str, target: str | None) -> WebhookTarget | None:
    if kind != ContactKind.CHAT:
        if target:
            raise InvalidInput(
                f"only a chat handle is posted through a target (this is {kind})", field="target"
            )
        return None
    if not target:
        raise InvalidInput(
            "a chat handle needs the code of the slack or teams target that carries the mention",
            field="target",
        )
    found = target_by_code(target, field="target")
    if found.kind not in CHAT_TARGET_KINDS:
        raise InvalidInput(
            f"{found.code} is a {found.kind} target; a chat handle needs a slack or teams one",
            field="target",
        )
    return found


def contact_methods(actor: User, username: str | None = None) -> list[ContactMethod]:
    person = person_for_reading(actor, username)
    return list(
        ContactMethod.objects.filter(user=person).select_related("user", "target").order_by("id")
    )


def add_contact_method(
    actor: User,
    *,
    kind: str,
    address: str,
    user: str | None = None,
    target: str | None = None,
    label: str = "",
) -> ContactMethod:
    person = person_for_change(actor, user)
    if kind not in ContactKind.values:
        raise InvalidInput(
            f"must be one of {', '.join(ContactKind.values)} (got {kind[:40]!r})", field="kind"
        )
    address = clean_address(kind, address)
    chat_target = _chat_target(kind, target)
    label = label.strip()
    if len(label) > 60:
        raise InvalidInput(f"must be at most 60 characters (got {len(label)})", field="label")
    method = ContactMethod(
        user=person,
        kind=kind,
        address=address,
        target=chat_target,
        label=label,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            method.save(force_insert=True)
            audit.record(
                "contact_method.create",
                actor=actor,
                obj=method,
                summary=f"{person.username} can be reached by {kind} at {address}",
                after={
                    "user": person.username,
                    "kind": kind,
                    "address": address,
                    "target": chat_target.code if chat_target else None,
                    "label": label,
                },
            )
    except IntegrityError:
        raise Conflict(f"{person.username} already has {kind} {address}", field="address") from None
    return method


def remove_contact_method(actor: User, method_id: int) -> None:
    """Remove a contact method, and with it the rules that use it."""
    with transaction.atomic():
        method = (
            ContactMethod.objects.select_for_update()
            .select_related("user")
            .filter(pk=method_id)
            .first()
        )
        if method is None:
            raise NotFound(f"no contact method has id {method_id}", field="id")
        _check_owner(actor, method.user)
        rules = method.rules.count()
        audit.record(
            "contact_method.delete",
            actor=actor,
            obj=method,
            summary=f"{method.user.username} no longer reached by {method.kind} at "
            f"{method.address} ({rules} rule{'s' if rules != 1 else ''} removed with it)",
            before={"user": method.user.username, "kind": method.kind, "address": method.address},
        )
        method.delete()


# --- notification rules --------------------------------------------------------------------


def clean_priority(priority: str, field: str = "priority") -> str:
    if priority not in ("", *PRIORITIES):
        raise InvalidInput(
            f"must be P1, P2, P3, P4 or blank for any priority (got {priority[:20]!r})",
            field=field,
        )
    return priority


def notification_rules(actor: User, username: str | None = None) -> list[NotificationRule]:
    person = person_for_reading(actor, username)
    return list(
        NotificationRule.objects.filter(user=person)
        .select_related("user", "method__target")
        .order_by("priority", "delay_minutes", "id")
    )


def add_rule(
    actor: User,
    *,
    method: int,
    priority: str = "",
    delay_minutes: int = 0,
    user: str | None = None,
) -> NotificationRule:
    """'P1: SMS at once' is add_rule(priority="P1", method=<the SMS number>, delay_minutes=0)."""
    person = person_for_change(actor, user)
    priority = clean_priority(priority)
    if isinstance(delay_minutes, bool) or not (0 <= delay_minutes <= MAX_DELAY_MINUTES):
        raise InvalidInput(
            f"must be between 0 and {MAX_DELAY_MINUTES} (got {delay_minutes})",
            field="delay_minutes",
        )
    # Someone else's method and a missing one get the same answer: ids are not a way to
    # find out who has which phone number.
    contact = ContactMethod.objects.filter(pk=method, user=person).first()
    if contact is None:
        raise InvalidInput(
            f"contact method {method} is not one of {person.username}'s", field="method"
        )
    rule = NotificationRule(
        user=person,
        priority=priority,
        method=contact,
        delay_minutes=delay_minutes,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            rule.save(force_insert=True)
            audit.record(
                "notification_rule.create",
                actor=actor,
                obj=rule,
                summary=f"{person.username}: {priority or 'any priority'}, {contact.kind} "
                f"after {delay_minutes} min",
                after={
                    "user": person.username,
                    "priority": priority,
                    "method": contact.pk,
                    "delay_minutes": delay_minutes,
                },
            )
    except IntegrityError:
        raise Conflict(
            f"{person.username} already has this rule ({priority or 'any priority'}, "
            f"{contact.kind} {contact.address}, after {delay_minutes} min)",
            field="method",
        ) from None
    return rule


def remove_rule(actor: User, rule_id: int) -> None:
    with transaction.atomic():
        rule = (
            NotificationRule.objects.select_for_update()
            .select_related("user", "method")
            .filter(pk=rule_id)
            .first()
        )
        if rule is None:
            raise NotFound(f"no notification rule has id {rule_id}", field="id")
        _check_owner(actor, rule.user)
        audit.record(
            "notification_rule.delete",
            actor=actor,
            obj=rule,
            summary=f"{rule.user.username}: rule {rule.priority or 'any priority'}, "
            f"{rule.method.kind} after {rule.delay_minutes} min removed",
            before={
                "user": rule.user.username,
                "priority": rule.priority,
                "method": rule.method_id,
                "delay_minutes": rule.delay_minutes,
            },
        )
        rule.delete()


# --- the delivery plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    priority: str
    delay_minutes: int


def _methods_with_rules(
    user_ids: Iterable[int],
) -> dict[int, list[tuple[ContactMethod, _Rule | None]]]:
    """Every contact method of these people, each with its rules, in one query: the LEFT JOIN
    gives one row per (method, rule), and a method without rules once with NULLs. Paging runs
    this for every person at every level, so it must not grow with the number of rules."""
    rows = (
        ContactMethod.objects.filter(user_id__in=list(user_ids))
        .select_related("target")
        .annotate(
            rule_id=F("rules__id"),
            rule_priority=F("rules__priority"),
            rule_delay=F("rules__delay_minutes"),
        )
        .order_by("user_id", "id", "rule_delay", "rule_id")
    )
    found: dict[int, list[tuple[ContactMethod, _Rule | None]]] = defaultdict(list)
    for method in rows:
        rule_id = getattr(method, "rule_id", None)
        rule = (
            None
            if rule_id is None
            else _Rule(getattr(method, "rule_priority", ""), getattr(method, "rule_delay", 0))
        )
        found[method.user_id].append((method, rule))
    return found


def _step(method: ContactMethod, delay_minutes: int) -> Step | None:
    if method.kind == ContactKind.CHAT:
        target = method.target
        # A deactivated target has been switched off on purpose: its steps are skipped.
        if target is None or not target.active:
            return None
        return Step(target.kind, method.address, target, delay_minutes)
    return Step(_KIND_CHANNEL[method.kind], method.address, None, delay_minutes)


def _email_fallback(user: User) -> list[Step]:
    return [Step(Channel.EMAIL.value, user.email, None, 0)] if user.email else []


def _plan(
    user: User,
    priority: str,
    channels: Sequence[str],
    methods: list[tuple[ContactMethod, _Rule | None]],
) -> list[Step]:
    steps: list[Step] = []
    if channels:
        wanted = set(channels)
        seen: set[int] = set()
        for method, _rule in methods:
            if method.kind in wanted and method.pk not in seen:
                seen.add(method.pk)
                step = _step(method, 0)
                if step is not None:
                    steps.append(step)
    else:
        rules = [(m, r) for m, r in methods if r is not None]
        chosen = [(m, r) for m, r in rules if r.priority == priority] or [
            (m, r) for m, r in rules if r.priority == ""
        ]
        for method, rule in sorted(chosen, key=lambda mr: (mr[1].delay_minutes, mr[0].pk)):
            step = _step(method, rule.delay_minutes)
            if step is not None:
                steps.append(step)
    # Nobody is left unwarned: no matching rule or method (or only switched-off chat
    # targets) means an email to the account's address at once.
    return steps or _email_fallback(user)


def delivery_plan(user: User, priority: str, channels: Sequence[str] = ()) -> list[Step]:
    """How to reach one person about a page of this priority.

    Without `channels`: the person's rules for that priority, else their rules for any
    priority, else an email at once. With `channels` (a level's choice of contact kinds:
    email, sms, voice, chat): every contact method of those kinds at once, else an email.
    """
    return _plan(user, priority, channels, _methods_with_rules([user.pk]).get(user.pk, []))


def delivery_plans(
    users: Iterable[User], priority: str, channels: Sequence[str] = ()
) -> dict[int, list[Step]]:
    """delivery_plan for several people in one query, by user id."""
    people = list(users)
    methods = _methods_with_rules(u.pk for u in people)
    return {u.pk: _plan(u, priority, channels, methods.get(u.pk, [])) for u in people}
