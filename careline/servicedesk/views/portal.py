"""The portal: report a problem (with known incidents, a PHI warning and self-help on the
way), and the requester's own list of tickets."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError
from careline.core.models import ClinicalService
from careline.core.permissions import Perm, has_perm
from careline.servicedesk import phi, suggestions
from careline.servicedesk.forms import ReportForm
from careline.servicedesk.models import AffectedPerson, Ticket
from careline.servicedesk.services import relations, tickets
from careline.servicedesk.views.common import forbidden, is_htmx

KNOWN_SHOWN = 10
PAGE_SIZE = 50
PHI_ADVICE = (
    "IT does not need patient details to fix most problems: please remove them, "
    "or leave them only if IT must see them."
)


def _known_incidents(service_code: str) -> list[dict[str, Any]]:
    """The open incidents everyone may join for a service, each with a title safe to show."""
    if not service_code:
        return []
    service_id = (
        ClinicalService.objects.filter(code=service_code).values_list("pk", flat=True).first()
    )
    if service_id is None:
        return []
    rows = relations.known_incidents(service_id).annotate(affected_count=Count("affected"))
    return [
        {
            "id": t.pk,
            "number": t.number,
            "title": relations.public_title(t),
            "priority": t.priority,
            "service": t.service.name if t.service else "",
            "created_at": t.created_at,
            "affected_count": t.affected_count,
        }
        for t in rows[:KNOWN_SHOWN]
    ]


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if not has_perm(user, Perm.TICKETS_OPEN):
        # The service refuses it too; the form is not shown to someone who cannot send it.
        return forbidden(request, "The auditor role reads tickets but does not open them.")
    initial = {"service": request.GET.get("service", "")[:32]}
    form = ReportForm(request.POST or None, user=user, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                ticket = tickets.create_ticket(user, form.draft())
            except CareLineError as exc:
                form.add_domain_error(exc)
            else:
                suggestions.record_shown(ticket.pk, request.POST.getlist("shown"))
                messages.success(request, f"Thank you. Your ticket {ticket.number} is with IT.")
                return redirect("servicedesk:ticket", ticket_id=ticket.pk)
        form.describe_errors()
        status = 422
    service_code = str(form["service"].value() or "")
    context = {
        "form": form,
        "known": _known_incidents(service_code),
        "service_code": service_code,
        "check": _check_context(
            str(form["title"].value() or ""), str(form["description"].value() or ""), service_code
        )
        if request.method == "POST"
        else {},
    }
    return render(request, "servicedesk/report.html", context, status=status)


@require_GET
def known_incidents(request: HttpRequest) -> HttpResponse:
    """The htmx fragment under "What is affected?": known incidents for the chosen service."""
    service_code = request.GET.get("service", "")[:32]
    context = {"known": _known_incidents(service_code), "service_code": service_code}
    return render(request, "servicedesk/_known_incidents.html", context)


@require_POST
def me_too(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """ "I have this problem too": join the known incident instead of filing a duplicate."""
    user = signed_in(request)
    try:
        relations.add_affected(user, ticket_id)
    except CareLineError as exc:
        if is_htmx(request):
            # htmx swaps only 2xx answers; the refusal is shown where the button was.
            return render(request, "servicedesk/_me_too.html", {"error": exc.message})
        messages.error(request, exc.message)
        return redirect("servicedesk:report")
    count = AffectedPerson.objects.filter(ticket_id=ticket_id).count()
    if is_htmx(request):
        return render(request, "servicedesk/_me_too.html", {"count": count})
    messages.success(
        request,
        f"Thanks — you've been added; IT will update you. {count} people have this problem.",
    )
    return redirect(reverse("servicedesk:report"))


def _check_context(title: str, description: str, service_code: str) -> dict[str, Any]:
    findings = phi.scan(title, description)
    return {
        # Only the kinds found are named: the matched text is never echoed back.
        "phi_warning": (
            f"This looks like it contains {phi.describe(findings)}. {PHI_ADVICE}"
            if findings
            else ""
        ),
        "suggestions": suggestions.suggest(f"{title} {description}", service_code or None),
    }


@require_POST
def check(request: HttpRequest) -> HttpResponse:
    """The htmx fragment under the text fields: a PHI warning and self-help articles.

    A POST, not a GET: the text may hold patient details, which must not end up in URLs
    and access logs.
    """
    title = request.POST.get("title", "")[:1000]
    description = request.POST.get("description", "")[:20_000]
    service_code = request.POST.get("service", "")[:32]
    context = _check_context(title, description, service_code)
    return render(request, "servicedesk/_report_check.html", {"check": context})


@require_GET
def my_tickets(request: HttpRequest) -> HttpResponse:
    """The requester's own tickets and their department's, newest first."""
    user = signed_in(request)
    mine = Q(requester=user)
    if user.department_id is not None:
        mine |= Q(department_id=user.department_id)
    rows = (
        Ticket.objects.visible_to(user)
        .filter(mine)
        .select_related("service", "department", "requester")
        .order_by("-created_at", "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "servicedesk/my_tickets.html", {"page": page, "me": user})
