"""Delivery targets: Slack and Microsoft Teams incoming webhooks, and generic JSON receivers
whose messages are signed with HMAC.

A webhook URL carries the receiver's token, so whoever reads it can post into the hospital's
channel: the URL and the signing key are encrypted at rest (core.crypto), never returned by
the API, and never written to the audit trail. Only the scheme and host are ever shown.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from careline.core import audit
from careline.core.crypto import decrypt, encrypt
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.core.services import clean_code, clean_name
from careline.oncall.models import Channel, ContactMethod, Notification, WebhookTarget

TARGET_KINDS = (Channel.SLACK.value, Channel.TEAMS.value, Channel.WEBHOOK.value)
# Slack and Teams only ever hand out https URLs; a plain-http one is a typo or a trap.
HTTPS_ONLY = frozenset({Channel.SLACK.value, Channel.TEAMS.value})
URL_MAX_LENGTH = 2000
SIGNING_KEY_MIN_LENGTH = 16
SIGNING_KEY_MAX_LENGTH = 200
UNREADABLE = "(cannot be read with the configured keys)"

_url_validator = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class TargetDescription:
    """What may be shown of a target: never its token or signing key."""

    kind: str
    code: str
    name: str
    url: str
    active: bool
    has_signing_key: bool

    def __str__(self) -> str:
        return f"{self.kind} {self.code} ({self.name}) {self.url}"


@dataclass(frozen=True)
class CreatedTarget:
    target: WebhookTarget
    # The signing key in clear, shown once in the create answer (None for Slack and Teams).
    signing_key: str | None


def clean_url(url: str, kind: str) -> str:
    """The URL as given, or InvalidInput naming `url` and what is wrong with it."""
    if not url:
        raise InvalidInput("must not be empty", field="url")
    if len(url) > URL_MAX_LENGTH:
        raise InvalidInput(
            f"must be at most {URL_MAX_LENGTH} characters (got {len(url)})", field="url"
        )
    if any(c.isspace() for c in url):
        raise InvalidInput("must not contain spaces or line breaks", field="url")
    try:
        parts = urlsplit(url)
        # Reading the port checks it: a bad one raises here rather than at delivery.
        parts.port  # noqa: B018
    except ValueError as exc:
        raise InvalidInput(f"is not a valid URL ({exc})", field="url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput(
            f"must start with https:// or http:// (got {scheme or 'no scheme'})", field="url"
        )
    if kind in HTTPS_ONLY and scheme != "https":
        raise InvalidInput(f"a {kind} webhook URL must use https", field="url")
    if not parts.hostname:
        raise InvalidInput("must name a host", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "must not carry a user name or password (user:password@); use the URL exactly as "
            "the receiver issued it",
            field="url",
        )
    try:
        _url_validator(url)
    except ValidationError:
        raise InvalidInput(f"is not a valid URL (host {parts.hostname!r})", field="url") from None
    return url


def _clean_signing_key(key: str) -> str:
    if any(c.isspace() for c in key):
        raise InvalidInput("must not contain spaces or line breaks", field="signing_key")
    if not (SIGNING_KEY_MIN_LENGTH <= len(key) <= SIGNING_KEY_MAX_LENGTH):
        raise InvalidInput(
            f"must be between {SIGNING_KEY_MIN_LENGTH} and {SIGNING_KEY_MAX_LENGTH} characters "
            f"(got {len(key)})",
            field="signing_key",
        )
    return key


def _clean_kind(kind: str) -> str:
    if kind not in TARGET_KINDS:
        raise InvalidInput(
            f"must be one of {', '.join(TARGET_KINDS)} (got {kind[:40]!r})", field="kind"
        )
    return kind


def shown_url(url: str) -> str:
    """`https://hooks.slack.com/…`: enough to tell targets apart, nothing that lets one post."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}/…"


def url_of(target: WebhookTarget) -> str:
    """The URL in clear, for the code that delivers to it."""
    return decrypt(target.url_encrypted)


def signing_key_of(target: WebhookTarget) -> str:
    """The HMAC key in clear ("" for Slack and Teams), for the code that signs deliveries."""
    return decrypt(target.signing_key_encrypted) if target.signing_key_encrypted else ""


def describe(target: WebhookTarget) -> TargetDescription:
    try:
        url = shown_url(url_of(target))
    except ValueError:
        url = UNREADABLE
    return TargetDescription(
        kind=target.kind,
        code=target.code,
        name=target.name,
        url=url,
        active=target.active,
        has_signing_key=bool(target.signing_key_encrypted),
    )


def _snapshot(target: WebhookTarget) -> dict[str, object]:
    shown = describe(target)
    return {
        "code": shown.code,
        "name": shown.name,
        "kind": shown.kind,
        "url": shown.url,
        "active": shown.active,
        "has_signing_key": shown.has_signing_key,
    }


def target_by_code(code: str, field: str = "code") -> WebhookTarget:
    try:
        return WebhookTarget.objects.get(code=code)
    except WebhookTarget.DoesNotExist:
        raise NotFound(f"no delivery target has code {code[:40]!r}", field=field) from None


def _locked(code: str) -> WebhookTarget:
    target = WebhookTarget.objects.select_for_update().filter(code=code).first()
    if target is None:
        raise NotFound(f"no delivery target has code {code[:40]!r}", field="code")
    return target


def list_targets(actor: User) -> list[WebhookTarget]:
    require(actor, Perm.ONCALL_VIEW)
    return list(WebhookTarget.objects.order_by("code"))


def get_target(actor: User, code: str) -> WebhookTarget:
    require(actor, Perm.ONCALL_VIEW)
    return target_by_code(code)


def create_target(
    actor: User,
    *,
    code: str,
    name: str,
    kind: str,
    url: str,
    signing_key: str | None = None,
) -> CreatedTarget:
    """A new target. A generic webhook gets a signing key (generated when none is given),
    returned here in clear once; Slack and Teams authenticate by the URL alone."""
    require(actor, Perm.ONCALL_MANAGE)
    code = clean_code(code)
    name = clean_name(name)
    kind = _clean_kind(kind)
    url = clean_url(url, kind)
    if kind == Channel.WEBHOOK:
        key = _clean_signing_key(signing_key) if signing_key else secrets.token_urlsafe(32)
    elif signing_key:
        raise InvalidInput(
            f"only a webhook target signs its messages; a {kind} target has no signing key",
            field="signing_key",
        )
    else:
        key = None
    target = WebhookTarget(
        code=code,
        name=name,
        kind=kind,
        url_encrypted=encrypt(url),
        signing_key_encrypted=encrypt(key) if key else "",
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            target.save(force_insert=True)
            audit.record(
                "webhook_target.create",
                actor=actor,
                obj=target,
                summary=f"Delivery target {code} ({kind}) created",
                after=_snapshot(target),
            )
    except IntegrityError:
        raise Conflict(
            f"a delivery target with code {code!r} already exists", field="code"
        ) from None
    return CreatedTarget(target, key)


def update_target(
    actor: User,
    code: str,
    *,
    name: str | None = None,
    url: str | None = None,
    signing_key: str | None = None,
    active: bool | None = None,
) -> WebhookTarget:
    """Change what is given; the kind stays (chat handles depend on it)."""
    require(actor, Perm.ONCALL_MANAGE)
    with transaction.atomic():
        target = _locked(code)
        before = _snapshot(target)
        changed: list[str] = []
        if name is not None:
            target.name = clean_name(name)
            changed.append("name")
        if url is not None:
            target.url_encrypted = encrypt(clean_url(url, target.kind))
            changed.append("url")
        if signing_key is not None:
            if target.kind != Channel.WEBHOOK:
                raise InvalidInput(
                    f"only a webhook target signs its messages; {target.code} is a {target.kind} "
                    "target",
                    field="signing_key",
                )
            target.signing_key_encrypted = encrypt(_clean_signing_key(signing_key))
            changed.append("signing_key")
        if active is not None:
            target.active = active
            changed.append("active")
        if not changed:
            return target
        target.save(
            update_fields=[
                {"url": "url_encrypted", "signing_key": "signing_key_encrypted"}.get(f, f)
                for f in changed
            ]
        )
        audit.record(
            "webhook_target.update",
            actor=actor,
            obj=target,
            summary=f"Delivery target {target.code} changed: {', '.join(changed)}",
            before=before,
            after=_snapshot(target),
        )
    return target


def _uses(target: WebhookTarget) -> list[str]:
    contacts = list(
        ContactMethod.objects.filter(target=target)
        .order_by("user__username", "id")
        .values_list("user__username", "address")[:5]
    )
    uses: list[str] = []
    if contacts:
        total = ContactMethod.objects.filter(target=target).count()
        named = ", ".join(f"{who} {handle}" for who, handle in contacts)
        more = f" and {total - len(contacts)} more" if total > len(contacts) else ""
        uses.append(f"{total} chat contact{'s' if total != 1 else ''} ({named}{more})")
    sent = Notification.objects.filter(target=target).aggregate(n=Count("id"))["n"]
    if sent:
        uses.append(f"{sent} notification{'s' if sent != 1 else ''} in the outbox history")
    return uses


def delete_target(actor: User, code: str) -> None:
    """Delete a target nothing refers to; one with history is deactivated instead."""
    require(actor, Perm.ONCALL_MANAGE)
    with transaction.atomic():
        target = _locked(code)
        uses = _uses(target)
        if uses:
            raise Conflict(
                f"delivery target {target.code} is used by {' and '.join(uses)}; "
                "deactivate it instead (active: false)",
                field="code",
            )
        audit.record(
            "webhook_target.delete",
            actor=actor,
            obj=target,
            summary=f"Delivery target {target.code} ({target.kind}) deleted",
            before=_snapshot(target),
        )
        target.delete()
