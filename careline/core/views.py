from __future__ import annotations

from typing import Any

import segno
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from careline.core import audit, signin
from careline.core.errors import Forbidden
from careline.core.forms import AuditFilterForm, CodeForm, LoginForm
from careline.core.models import AuditEvent, ClinicalService, Department, Site, User
from careline.core.permissions import Perm, require
from careline.engine.status import engine_status
from careline.reports.exports import csv_response


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


def _after_password(request: HttpRequest, result: signin.Result) -> HttpResponse | None:
    next_q = f"?next={_next_url(request)}"
    if result.outcome is signin.Outcome.SIGNED_IN:
        return redirect(_next_url(request))
    if result.outcome is signin.Outcome.NEEDS_TOTP:
        return redirect("/login/verify/" + next_q)
    if result.outcome is signin.Outcome.NEEDS_ENROLMENT:
        return redirect("/login/enrol/" + next_q)
    return None


def _refusal(result: signin.Result) -> tuple[str, int]:
    """The message and status of a refused step: 401 wrong, 423 locked."""
    return result.message, 423 if result.outcome is signin.Outcome.LOCKED else 401


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        result = signin.sign_in_password(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        response = _after_password(request, result)
        if response is not None:
            return response
        error, status = _refusal(result)
    return render(
        request,
        "core/login.html",
        {"form": form, "error": error, "next": _next_url(request)},
        status=status,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    user = signin.pending_user(request)
    if user is None or not user.has_mfa:
        return redirect("/login/")
    form = CodeForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        result = signin.sign_in_totp(request, user, form.cleaned_data["code"])
        if result.outcome is signin.Outcome.SIGNED_IN:
            return redirect(_next_url(request))
        error, status = _refusal(result)
        if result.outcome is signin.Outcome.LOCKED:
            request.session.pop(signin.PENDING_KEY, None)
    return render(
        request,
        "core/verify.html",
        {"form": form, "error": error, "next": _next_url(request)},
        status=status,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    user = signin.pending_user(request)
    if user is None or user.has_mfa:
        return redirect("/login/")
    secret = signin.enrolment_secret(request)
    uri = signin.provisioning_uri(user, secret)
    form = CodeForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        result = signin.confirm_enrolment(request, user, form.cleaned_data["code"])
        if result.outcome is signin.Outcome.SIGNED_IN:
            return redirect(_next_url(request))
        error, status = _refusal(result)
    qr_svg = segno.make(uri, error="m").svg_inline(
        scale=5, title="QR code for your authenticator app"
    )
    context = {
        "form": form,
        "error": error,
        "qr_svg": qr_svg,
        "secret": secret,
        "next": _next_url(request),
    }
    return render(request, "core/enrol.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if isinstance(user, User):
        audit.record("logout", actor=user, obj=user, summary=f"{user.username} signed out")
    logout(request)
    return redirect("/login/")


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    context: dict[str, Any] = {"user": user}
    if user.role != "requester":
        context["counts"] = {
            "sites": Site.objects.count(),
            "departments": Department.objects.count(),
            "services": ClinicalService.objects.count(),
            "users": User.objects.filter(is_active=True).count(),
        }
        context["engine"] = engine_status()
    return render(request, "core/home.html", context)


def _filtered_events(form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if not form.is_valid():
        return events.none()
    data = form.cleaned_data
    if data["action"]:
        events = events.filter(action__startswith=data["action"])
    if data["actor"]:
        events = events.filter(actor_name=data["actor"])
    if data["object_type"]:
        events = events.filter(object_type=data["object_type"])
    if data["object_id"]:
        events = events.filter(object_id=data["object_id"])
    if data["q"]:
        events = events.filter(summary__icontains=data["q"])
    if data["since"]:
        events = events.filter(at__gte=data["since"])
    if data["until"]:
        events = events.filter(at__lte=data["until"])
    return events


def require_page(request: HttpRequest, perm: Perm) -> HttpResponse | None:
    try:
        require(request.user, perm)
    except Forbidden as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=403)
    return None


def audit_log(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.AUDIT_VIEW)) is not None:
        return denied
    form = AuditFilterForm(request.GET)
    page = Paginator(_filtered_events(form), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "core/audit.html", context)


CSV_COLUMNS = [
    "id",
    "at",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "summary",
    "request_id",
    "ip",
    "hash",
]


def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if (denied := require_page(request, Perm.AUDIT_VIEW)) is not None:
        return denied
    form = AuditFilterForm(request.GET)
    events = _filtered_events(form)
    user = request.user
    assert isinstance(user, User)
    # The export is itself an event, written before a single row leaves the building.
    audit.record(
        "audit.export",
        actor=user,
        summary=f"Exported {events.count()} audit events as CSV",
        after={"filters": {k: v for k, v in request.GET.items() if v}},
    )
    # Streamed, and made safe for spreadsheets: failed-login usernames and summaries are
    # typed by anyone (exports.csv_cell).
    rows = (
        [getattr(event, c) for c in CSV_COLUMNS]
        for event in events.order_by("id").iterator(chunk_size=2000)
    )
    return csv_response("careline-audit.csv", CSV_COLUMNS, rows)
