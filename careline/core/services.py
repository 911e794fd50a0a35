"""Every change to people and places goes through these functions, each in one transaction
with its audit event. Views, the API, the CLI and the demo loader all call them."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from careline.core import audit, rows
from careline.core.choices import CRITICAL_AREAS, ClinicalArea, Role, ServiceTier
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import ApiToken, ClinicalService, Department, Site, User
from careline.core.models.places import code_validator
from careline.core.permissions import Perm, require

M = TypeVar("M", bound=Model)

SITE_FIELDS = ["code", "name", "time_zone"]
DEPARTMENT_FIELDS = ["code", "name", "site_id", "clinical_area", "critical"]
SERVICE_FIELDS = ["code", "name", "tier", "description"]


def clean_code(code: str) -> str:
    code = code.strip()
    try:
        code_validator(code)
    except ValidationError:
        raise InvalidInput(
            f"{code_validator.message} (got {code[:40]!r})",
            field="code",
        ) from None
    return code


def clean_name(name: str | None, field: str = "name", max_length: int = 200) -> str:
    name = (name or "").strip()  # a change's explicit null empties nothing: refused below
    if not name:
        raise InvalidInput("must not be empty", field=field)
    if len(name) > max_length:
        raise InvalidInput(
            f"must be at most {max_length} characters (got {len(name)})", field=field
        )
    return name


def _check_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"must be an IANA time zone such as Europe/London (got {value[:64]!r})",
            field="time_zone",
        ) from None
    return value


def save_new_coded(obj: M, actor: User | None, *, noun: str, fields: list[str]) -> M:
    """Insert a new object known by its unique `code`, with its audit event, in one transaction.

    A duplicate code is a 409 naming the field, whichever of two racing requests loses.
    """
    code = getattr(obj, "code")  # noqa: B009  (every coded model has it; M is any model)
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
            audit.record(
                f"{obj._meta.model_name}.create",
                actor=actor,
                obj=obj,
                summary=f"{noun.capitalize()} {code} created",
                after=audit.snapshot(obj, fields),
            )
    except IntegrityError:
        raise Conflict(f"a {noun} with code {code!r} already exists", field="code") from None
    return obj


def site_by_code(code: str, field: str = "site") -> Site:
    try:
        return Site.objects.get(code=code)
    except Site.DoesNotExist:
        raise NotFound(f"no site has code {code[:40]!r}", field=field) from None


def department_by_code(code: str, field: str = "department") -> Department:
    try:
        return Department.objects.select_related("site").get(code=code)
    except Department.DoesNotExist:
        raise NotFound(f"no department has code {code[:40]!r}", field=field) from None


def service_by_code(code: str, field: str = "service") -> ClinicalService:
    try:
        return ClinicalService.objects.get(code=code)
    except ClinicalService.DoesNotExist:
        raise NotFound(f"no clinical service has code {code[:40]!r}", field=field) from None


def create_site(actor: User | None, *, code: str, name: str, time_zone: str = "UTC") -> Site:
    if actor is not None:
        require(actor, Perm.PLACES_MANAGE)
    site = Site(code=clean_code(code), name=clean_name(name), time_zone=_check_time_zone(time_zone))
    return save_new_coded(site, actor, noun="site", fields=SITE_FIELDS)


def create_department(
    actor: User | None,
    *,
    code: str,
    name: str,
    site: str,
    clinical_area: str,
    critical: bool | None = None,
) -> Department:
    if actor is not None:
        require(actor, Perm.PLACES_MANAGE)
    if clinical_area not in ClinicalArea.values:
        raise InvalidInput(
            f"must be one of {', '.join(ClinicalArea.values)} (got {clinical_area[:40]!r})",
            field="clinical_area",
        )
    department = Department(
        code=clean_code(code),
        name=clean_name(name),
        site=site_by_code(site),
        clinical_area=clinical_area,
        critical=clinical_area in CRITICAL_AREAS if critical is None else critical,
    )
    return save_new_coded(department, actor, noun="department", fields=DEPARTMENT_FIELDS)


def create_service(
    actor: User | None, *, code: str, name: str, tier: int = 3, description: str = ""
) -> ClinicalService:
    if actor is not None:
        require(actor, Perm.PLACES_MANAGE)
    if tier not in ServiceTier.values:
        raise InvalidInput(f"must be 1, 2 or 3 (got {tier})", field="tier")
    service = ClinicalService(
        code=clean_code(code), name=clean_name(name), tier=tier, description=description.strip()
    )
    return save_new_coded(service, actor, noun="clinical service", fields=SERVICE_FIELDS)


USER_FIELDS = ["username", "role", "department_id", "email", "is_active"]


def create_user(
    actor: User | None,
    *,
    username: str,
    role: str,
    password: str | None = None,
    department: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
) -> User:
    """Create an account. `actor` None means the command line, run by whoever owns the server."""
    if actor is not None:
        require(actor, Perm.USERS_MANAGE)
    username = clean_name(username, "username", 150)
    if role not in Role.values:
        raise InvalidInput(
            f"must be one of {', '.join(Role.values)} (got {role[:40]!r})", field="role"
        )
    user = User(
        username=username,
        role=role,
        department=department_by_code(department) if department else None,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), field="password") from None
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            audit.record(
                "user.create",
                actor=actor,
                obj=user,
                summary=f"Account {user.username} created with role {role}",
                after=audit.snapshot(user, USER_FIELDS),
            )
    except IntegrityError:
        raise Conflict(f"a user named {username!r} already exists", field="username") from None
    return user


def user_by_username(username: str, field: str = "user") -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise NotFound(f"no user is named {username[:150]!r}", field=field) from None


# --- API tokens -------------------------------------------------------------------------

TOKEN_PREFIX = "cl_"  # noqa: S105  (a marker, not a secret)
# Writing last_used_at on every call would make every read a write; once a minute is
# precise enough for an access review.
TOKEN_TOUCH_SECONDS = 60


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def create_token(actor: User | None, *, user: User, name: str = "") -> IssuedToken:
    name = clean_name(name or "api", "name", 100)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name, prefix=secret[: len(TOKEN_PREFIX) + 6], digest=token_digest(secret)
    )
    with transaction.atomic():
        token.save()
        audit.record(
            "token.create",
            actor=actor,
            obj=token,
            summary=f"API token {token.prefix}… ({name}) created for {user.username}",
            after={"user": user.username, "name": name, "prefix": token.prefix},
        )
    return IssuedToken(token, secret)


def revoke_token(actor: User | None, token_id: int) -> ApiToken:
    with transaction.atomic():
        try:
            token = ApiToken.objects.select_for_update().select_related("user").get(pk=token_id)
        except ApiToken.DoesNotExist:
            raise NotFound(f"no API token has id {token_id}", field="id") from None
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            "token.revoke",
            actor=actor,
            obj=token,
            summary=f"API token {token.prefix}… of {token.user.username} revoked",
        )
    return token


def authenticate_token(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None.

    Every API request comes through here, so it is one hand-written query: the ORM takes
    ten times longer to compile the equivalent than the database takes to answer it.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    now = timezone.now()
    touch_before = now - timedelta(seconds=TOKEN_TOUCH_SECONDS)
    found = rows.select(
        User,
        f"FROM {ApiToken._meta.db_table} k JOIN {User._meta.db_table} u ON u.id = k.user_id "
        f"WHERE k.digest = %s AND k.revoked_at IS NULL AND u.is_active",
        # The extra columns come first in the statement, so their parameter does too.
        [connection.ops.adapt_datetimefield_value(touch_before), token_digest(secret)],
        table_alias="u",
        extra=["k.id", "(k.last_used_at IS NULL OR k.last_used_at < %s)"],
    )
    if not found:
        return None
    user, (token_id, stale) = found[0]
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user
