"""The status page: /status/ for everyone allowed to read it (see access), refreshed by htmx
every minute; IT posts and ends notices from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import ClinicalService
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page
from careline.reports.models import NoticeSeverity
from careline.reports.status import access, notices, report

REFRESH_SECONDS = 60


def _context(request: HttpRequest) -> dict[str, Any]:
    built = report.build()
    return {
        "report": built,
        "scheduled": [(w, w.in_progress(built.generated_at)) for w in built.scheduled],
        "tiers": _by_tier(built),
        "refresh_seconds": REFRESH_SECONDS,
        "can_post": has_perm(request.user, Perm.DOWNTIME_MANAGE),
        "signed_in": request.user.is_authenticated,
    }


def _by_tier(built: report.StatusReport) -> list[tuple[int, list[Any]]]:
    tiers: dict[int, list[Any]] = {}
    for state in built.services:
        tiers.setdefault(state.tier, []).append(state)
    return sorted(tiers.items())


def _refreshing(request: HttpRequest) -> bool:
    """The page's own htmx refresh, which swaps in the body alone."""
    return request.headers.get("HX-Request") == "true"


@login_not_required
@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    if not access.may_read(request):
        if _refreshing(request):
            # The page's own refresh: send the whole window to the sign-in page.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login("/status/").url
            return response
        return redirect_to_login(request.get_full_path())
    template = "reports/status/_body.html" if _refreshing(request) else "reports/status/page.html"
    response = render(request, template, _context(request))
    response["Cache-Control"] = "no-store"
    return response


def _when(value: str, field: str) -> datetime | None:
    if not value.strip():
        return None
    parsed = parse_datetime(value.strip())
    if parsed is None:
        raise InvalidInput(f"not a date and time (got {value[:40]!r})", field=field)
    # A time typed in the form is read on the server's clock.
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@require_http_methods(["GET", "POST"])
def notice_new(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.DOWNTIME_MANAGE)) is not None:
        return denied
    values: dict[str, Any] = {"severity": NoticeSeverity.INFO, "services": []}
    error: CareLineError | None = None
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("title", "text", "severity", "expires_at")}
        values["services"] = request.POST.getlist("services")
        try:
            notices.post_notice(
                signed_in(request),
                notices.NoticeDraft(
                    title=values["title"],
                    text=values["text"],
                    severity=values["severity"],
                    services=values["services"],
                    expires_at=_when(values["expires_at"], "expires_at"),
                ),
            )
        except CareLineError as exc:
            error = exc
        else:
            messages.success(request, "Notice posted on the status page.")
            return redirect("reports:status")
    context = {
        "values": values,
        "error": error,
        "severities": NoticeSeverity.choices,
        "services": ClinicalService.objects.order_by("tier", "code"),
    }
    return render(
        request,
        "reports/status/notice_form.html",
        context,
        status=error.status if error else 200,
    )


@require_POST
def notice_end(request: HttpRequest, notice_id: int) -> HttpResponse:
    try:
        notices.end_notice(signed_in(request), notice_id)
    except CareLineError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Notice taken down.")
    return redirect("reports:status")
