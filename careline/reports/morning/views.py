"""The pages: /morning/ (today's check for the viewer's site, live, with the review form),
/morning/history/ and one past check as it was sent; /handover/ with the note form and its
printable PDF."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from careline.core import audit
from careline.core.callers import signed_in
from careline.core.errors import CareLineError
from careline.core.models import Site
from careline.core.permissions import has_perm
from careline.core.views import require_page
from careline.reports import exports
from careline.reports.morning import services
from careline.reports.morning.models import NOTES_MAX, MorningCheck


def _site(request: HttpRequest, source: Any) -> Site:
    return services.resolve_site(signed_in(request), source.get("site"))


def _error_page(request: HttpRequest, exc: CareLineError) -> HttpResponse:
    return render(request, "core/forbidden.html", {"message": str(exc)}, status=exc.status)


def _check_context(request: HttpRequest, site: Site, error: CareLineError | None = None) -> Any:
    report = services.morning_check(signed_in(request), site)
    return {
        "report": report,
        "headline": services.check_headline(report),
        "record": services.record_for(site, report.date),
        "sites": Site.objects.order_by("code"),
        "error": error,
        "notes": request.POST.get("notes", "") if error else "",
        "notes_max": NOTES_MAX,
        "can_review": has_perm(request.user, services.REVIEW_PERM),
    }


@require_GET
def morning(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, services.PERM)) is not None:
        return denied
    try:
        site = _site(request, request.GET)
    except CareLineError as exc:
        return _error_page(request, exc)
    return render(request, "morning/check.html", _check_context(request, site))


@require_POST
def morning_review(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, services.REVIEW_PERM)) is not None:
        return denied
    try:
        site = _site(request, request.POST)
    except CareLineError as exc:
        return _error_page(request, exc)
    try:
        services.review_today(signed_in(request), site, request.POST.get("notes", ""))
    except CareLineError as exc:
        context = _check_context(request, site, exc)
        return render(request, "morning/check.html", context, status=exc.status)
    messages.success(request, f"Morning check of {site.name} marked reviewed.")
    return redirect(f"/morning/?site={site.code}")


@require_GET
def morning_history(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, services.PERM)) is not None:
        return denied
    checks = MorningCheck.objects.select_related("site", "reviewed_by").order_by(
        "-date", "site__code"
    )
    code = request.GET.get("site", "").strip().upper()
    if code:
        checks = checks.filter(site__code=code)
    page = Paginator(checks.defer("snapshot"), 50).get_page(request.GET.get("page"))
    context = {"page": page, "sites": Site.objects.order_by("code"), "site": code}
    return render(request, "morning/history.html", context)


@require_GET
def morning_detail(request: HttpRequest, check_id: int) -> HttpResponse:
    if (denied := require_page(request, services.PERM)) is not None:
        return denied
    try:
        check = services.get_check(signed_in(request), check_id)
    except CareLineError as exc:
        return _error_page(request, exc)
    return render(request, "morning/detail.html", {"check": check})


def _handover_context(request: HttpRequest, site: Site, error: CareLineError | None = None) -> Any:
    return {
        "report": services.handover(signed_in(request), site),
        "sites": Site.objects.order_by("code"),
        "error": error,
        "text": request.POST.get("text", "") if error else "",
        "notes_max": NOTES_MAX,
        "can_review": has_perm(request.user, services.REVIEW_PERM),
    }


@require_GET
def handover(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, services.PERM)) is not None:
        return denied
    try:
        site = _site(request, request.GET)
    except CareLineError as exc:
        return _error_page(request, exc)
    return render(request, "morning/handover.html", _handover_context(request, site))


@require_POST
def handover_note(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, services.REVIEW_PERM)) is not None:
        return denied
    try:
        site = _site(request, request.POST)
    except CareLineError as exc:
        return _error_page(request, exc)
    try:
        services.add_note(signed_in(request), site, request.POST.get("text", ""))
    except CareLineError as exc:
        context = _handover_context(request, site, exc)
        return render(request, "morning/handover.html", context, status=exc.status)
    messages.success(request, "Note left for the next shift.")
    return redirect(f"/handover/?site={site.code}")


@require_GET
def handover_pdf(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, services.PERM)) is not None:
        return denied
    try:
        site = _site(request, request.GET)
    except CareLineError as exc:
        return _error_page(request, exc)
    user = signed_in(request)
    report = services.handover(user, site)
    ends = timezone.localtime(report.shift_end, site.zone)
    audit.record(
        "handover.exported",
        actor=user,
        object_type="morning.handover",
        object_id=f"{site.code}:{report.shift_end.isoformat()}",
        summary=f"Handover of {site.code} for the shift ending {ends:%Y-%m-%d %H:%M} as PDF",
    )
    return exports.pdf_response(
        f"handover-{site.code}-{ends:%Y%m%d-%H%M}.pdf",
        "morning/handover_pdf.html",
        {"report": report, "title": f"Handover, {site.name}"},
        request,
    )
