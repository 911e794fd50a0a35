"""Signing in: password with lockout, then the TOTP second factor where the role needs it.

A user is only logged in (django.contrib.auth.login) once every factor is through, so an
authenticated session is always a fully authenticated one; in between, the session holds
only the id of the pending user.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate, login
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from pyotp.exceptions import OTPVerificationError

from careline.core import audit, crypto
from careline.core.models import User

PENDING_KEY = "careline_mfa_pending"
ENROL_SECRET_KEY = "careline_mfa_enrol_secret"  # noqa: S105  (a session key name)
LAST_ACTIVITY_KEY = "careline_last_activity"
# The password step is good for this long before the second factor must be given.
PENDING_SECONDS = 300


class Outcome(enum.Enum):
    SIGNED_IN = "signed_in"
    NEEDS_TOTP = "needs_totp"
    NEEDS_ENROLMENT = "needs_enrolment"
    REFUSED = "refused"
    LOCKED = "locked"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message: str = ""
    locked_until: datetime | None = None


def _locked_message(until: datetime) -> str:
    local = timezone.localtime(until)
    return (
        f"Too many failed sign-ins: this account is locked until {local:%H:%M}. "
        "Call the service desk if you need access sooner."
    )


def _register_failure(user: User | None, username: str, reason: str) -> Result:
    """Count a failed attempt; lock the account at the configured number of failures."""
    if user is None:
        audit.record("login.failed", actor_name=username[:150], summary=f"Sign-in failed: {reason}")
        return Result(Outcome.REFUSED, "Wrong username or password.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        user.refresh_from_db(fields=["failed_logins"])
        audit.record("login.failed", actor=user, obj=user, summary=f"Sign-in failed: {reason}")
        if user.failed_logins < settings.LOGIN_LOCKOUT_FAILURES:
            return Result(
                Outcome.REFUSED,
                "Wrong username or password." if reason == "password" else "Wrong code.",
            )
        until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=until)
        audit.record(
            "login.locked",
            actor=user,
            obj=user,
            summary=f"Account locked for {settings.LOGIN_LOCKOUT_MINUTES} minutes after "
            f"{settings.LOGIN_LOCKOUT_FAILURES} failed sign-ins",
        )
    return Result(Outcome.LOCKED, _locked_message(until), until)


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


def mfa_required(user: User) -> bool:
    return user.role in settings.MFA_ROLES


def _complete(request: HttpRequest, user: User) -> Result:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ENROL_SECRET_KEY, None)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        audit.record("login", actor=user, obj=user, summary=f"{user.username} signed in")
    request.session[LAST_ACTIVITY_KEY] = int(timezone.now().timestamp())
    return Result(Outcome.SIGNED_IN)


def sign_in_password(request: HttpRequest, username: str, password: str) -> Result:
    username = username.strip()[:150]
    user = User.objects.filter(username=username).first()
    if user is not None and is_locked(user):
        assert user.locked_until is not None
        audit.record(
            "login.failed", actor=user, obj=user, summary="Sign-in refused: account locked"
        )
        return Result(Outcome.LOCKED, _locked_message(user.locked_until), user.locked_until)
    # authenticate() hashes even for an unknown username, so timing does not tell which exist.
    authenticated = authenticate(request, username=username, password=password)
    if authenticated is None:
        return _register_failure(
            user, username, "password" if user is None or user.is_active else "inactive"
        )
    assert isinstance(authenticated, User)
    if authenticated.has_mfa:
        _set_pending(request, authenticated)
        return Result(Outcome.NEEDS_TOTP)
    if mfa_required(authenticated):
        _set_pending(request, authenticated)
        return Result(Outcome.NEEDS_ENROLMENT)
    return _complete(request, authenticated)


def _set_pending(request: HttpRequest, user: User) -> None:
    request.session[PENDING_KEY] = {"user": user.pk, "at": int(timezone.now().timestamp())}


def pending_user(request: HttpRequest) -> User | None:
    """The user who gave the right password and still owes the second factor."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if timezone.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _matching_step(secret: str, code: str, after_step: int) -> int | None:
    """The 30-second step a code belongs to (one step of clock drift allowed), if unused."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    try:
        step = pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=timezone.now(), valid_window=1
        )
    except OTPVerificationError:
        return None
    return step if step > after_step else None


def sign_in_totp(request: HttpRequest, user: User, code: str) -> Result:
    if is_locked(user):
        assert user.locked_until is not None
        return Result(Outcome.LOCKED, _locked_message(user.locked_until), user.locked_until)
    step = _matching_step(crypto.decrypt(user.totp_secret), code, user.totp_last_step)
    if step is None:
        return _register_failure(user, user.username, "second factor")
    # Conditional update: of two requests racing with one code, only one signs in.
    if not User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step):
        return _register_failure(user, user.username, "second factor replayed")
    return _complete(request, user)


def enrolment_secret(request: HttpRequest) -> str:
    secret = request.session.get(ENROL_SECRET_KEY)
    if not isinstance(secret, str):
        secret = pyotp.random_base32()
        request.session[ENROL_SECRET_KEY] = secret
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.MFA_ISSUER)


def confirm_enrolment(request: HttpRequest, user: User, code: str) -> Result:
    secret = enrolment_secret(request)
    step = _matching_step(secret, code, 0)
    if step is None:
        return _register_failure(user, user.username, "enrolment code")
    with transaction.atomic():
        user.totp_secret = crypto.encrypt(secret)
        user.totp_confirmed_at = timezone.now()
        user.totp_last_step = step
        user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit.record(
            "mfa.enrol",
            actor=user,
            obj=user,
            summary=f"{user.username} enrolled a TOTP second factor",
        )
    return _complete(request, user)


def set_totp_secret(user: User, secret: str) -> None:
    """Enrol a known seed without a code (the demo hospital's accounts)."""
    with transaction.atomic():
        user.totp_secret = crypto.encrypt(secret)
        user.totp_confirmed_at = timezone.now()
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
        audit.record("mfa.enrol", obj=user, summary=f"TOTP second factor set for {user.username}")
