"""The access review: every account, its role, last sign-in and second factor, the dormant
ones, and every API token."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from careline.core.models import ApiToken, User
from careline.core.permissions import Perm, require
from careline.reports.compliance.tables import Column, Report, Row, Table, list_fetch, plural

ACCOUNT_COLUMNS = [
    Column("username", "Username"),
    Column("name", "Name"),
    Column("role", "Role"),
    Column("department", "Department"),
    Column("active", "Active"),
    Column("last_sign_in", "Last sign-in", empty="never"),
    Column("days_since_sign_in", "Days since sign-in"),
    Column("mfa_enrolled", "Second factor enrolled"),
    Column("dormant", "Dormant"),
    Column("locked_until", "Locked until"),
    Column("active_tokens", "API tokens in force"),
    Column("created", "Created"),
]
TOKEN_COLUMNS = [
    Column("owner", "Owner"),
    Column("owner_role", "Owner's role"),
    Column("name", "Token name"),
    Column("prefix", "Starts with"),
    Column("created", "Created"),
    Column("last_used", "Last used", empty="never"),
    Column("expires", "Expires"),
    Column("revoked", "Revoked"),
    Column("state", "State"),
]


def _dormant_q(cutoff: datetime, prefix: str = "") -> Q:
    """Active, and not signed in since the cutoff (or never, and created before it)."""
    return Q(**{f"{prefix}is_active": True}) & (
        Q(**{f"{prefix}last_login__lt": cutoff})
        | Q(**{f"{prefix}last_login__isnull": True, f"{prefix}date_joined__lt": cutoff})
    )


def _account_row(user: User, now: datetime, cutoff: datetime) -> Row:
    seen = user.last_login
    dormant = user.is_active and (seen or user.date_joined) < cutoff
    return [
        user.username,
        user.get_full_name(),
        user.get_role_display(),
        user.department.code if user.department else None,
        user.is_active,
        seen,
        (now - seen).days if seen else None,
        user.has_mfa,
        dormant,
        user.locked_until if user.locked_until and user.locked_until > now else None,
        user.active_tokens,  # type: ignore[attr-defined]
        user.date_joined,
    ]


def _token_state(token: ApiToken, cutoff: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if not token.user.is_active:
        return "owner deactivated"  # the token no longer works: authenticate_token checks
    if (token.last_used_at or token.created_at) < cutoff:
        return "dormant"
    return "in force"


def _token_row(token: ApiToken, cutoff: datetime) -> Row:
    return [
        token.user.username,
        token.user.get_role_display(),
        token.name,
        token.prefix,
        token.created_at,
        token.last_used_at,
        # CareLine tokens carry no expiry date: each is valid until revoked or its owner
        # is deactivated, which is why the review shows the ones left unused.
        "never (until revoked)",
        token.revoked_at,
        _token_state(token, cutoff),
    ]


def access_review(actor: User, *, role: str = "", dormant: bool = False) -> Report:
    require(actor, Perm.COMPLIANCE_VIEW)
    now = timezone.now()
    days = settings.DORMANT_DAYS
    cutoff = now - timedelta(days=days)
    users = User.objects.select_related("department").annotate(
        active_tokens=Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True))
    )
    tokens = ApiToken.objects.select_related("user").order_by("user__username", "created_at")
    if role:
        users = users.filter(role=role)
        tokens = tokens.filter(user__role=role)
    if dormant:
        users = users.filter(_dormant_q(cutoff))
        tokens = tokens.filter(
            Q(revoked_at__isnull=True, user__is_active=True)
            & (Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff))
        )
    people = list(users.order_by("username"))
    accounts = [_account_row(u, now, cutoff) for u in people]
    token_rows = [_token_row(t, cutoff) for t in tokens]
    active = sum(1 for u in people if u.is_active)
    no_mfa = sum(
        1 for u in people if u.is_active and u.role in settings.MFA_ROLES and not u.has_mfa
    )
    in_force = [r for r in token_rows if r[-1] in ("in force", "dormant")]
    return Report(
        name="access-review",
        title="Access review",
        lead=f"Every account, its role and last sign-in, and every API token. An account is "
        f"dormant after {days} days without a sign-in (CARELINE_DORMANT_DAYS); "
        "a dormant account or unused token is a door left open: disable or revoke it.",
        filters={},
        summary=[
            f"{plural(len(accounts), 'account')} ({active} active)",
            f"{plural(sum(1 for r in accounts if r[8]), 'dormant account')}",
            f"{plural(no_mfa, 'staff account')} without a second factor",
            f"{plural(len(in_force), 'API token')} in force, "
            f"{sum(1 for r in in_force if r[-1] == 'dormant')} unused for {days} days",
        ],
        tables=[
            Table("accounts", "Accounts", ACCOUNT_COLUMNS, len(accounts), list_fetch(accounts)),
            Table("tokens", "API tokens", TOKEN_COLUMNS, len(token_rows), list_fetch(token_rows)),
        ],
    )
