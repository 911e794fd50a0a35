"""On-call pages: the list of pages, one page with its incidents and deliveries, and the
acknowledgement link opened from a message (no sign-in: the signed link is the credential)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from careline.core import audit
from careline.core.callers import signed_in
from careline.core.errors import CareLineError
from careline.core.models import AuditEvent, User
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page
from careline.oncall import acklinks
from careline.oncall.models import Notification, Page, PageStatus
from careline.oncall.models.pages import with_counts
from careline.oncall.services import answers, paging

log = logging.getLogger("careline.paging")


def page_list(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    rows = with_counts(
        Page.objects.select_related("service", "acknowledged_by").order_by("-created_at", "-id")
    )
    context = {
        "open_pages": list(rows.filter(status__in=paging.OPEN)[:200]),
        "recent": list(rows.filter(status=PageStatus.RESOLVED)[:50]),
    }
    return render(request, "oncall/page_list.html", context)


def page_detail(request: HttpRequest, page_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    try:
        target = answers.get_page(page_id)
    except CareLineError as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=404)
    context = {
        "page": target,
        "items": target.items.order_by("created_at", "id"),
        "deliveries": Notification.objects.filter(page=target)
        .select_related("recipient")
        .order_by("id")[:500],
        "events": AuditEvent.objects.filter(
            object_type="oncall.page", object_id=str(target.pk)
        ).order_by("id")[:200],
        "can_respond": has_perm(request.user, Perm.ONCALL_RESPOND),
    }
    return render(request, "oncall/page_detail.html", context)


@require_POST
def page_answer(request: HttpRequest, page_id: int, action: str) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_RESPOND)) is not None:
        return denied
    user = signed_in(request)
    try:
        if action == "acknowledge":
            answers.acknowledge(page_id, user, via="web")
        else:
            answers.resolve(page_id, user, via="web")
    except CareLineError as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=exc.status)
    return redirect("oncall:page", page_id=page_id)


def _refuse(request: HttpRequest, reason: str) -> HttpResponse:
    # Every refused link is recorded: a forged one may be someone probing.
    with transaction.atomic():
        audit.record(
            "oncall.ack_link_refused",
            actor_name="anonymous",
            object_type="oncall.page",
            summary=f"acknowledgement link refused: {reason}",
        )
    log.warning("acknowledgement link refused: %s", reason)
    return render(request, "oncall/ack_refused.html", {"reason": reason}, status=403)


def ack_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the page and one button; POST does what the button says. A link checker
    that fetches the link does nothing."""
    try:
        claim = acklinks.read_token(token)
    except acklinks.RefusedLink as exc:
        return _refuse(request, str(exc))
    person = User.objects.filter(pk=claim.user_id, is_active=True).first()
    target = (
        Page.objects.select_related("service", "acknowledged_by").filter(pk=claim.page_id).first()
    )
    if person is None or target is None:
        return _refuse(request, "link names a person or page that no longer exists")
    done = ""
    if request.method == "POST":
        try:
            if claim.action == "acknowledge":
                target = answers.acknowledge(target.pk, person, via="link")
            else:
                target = answers.resolve(target.pk, person, via="link")
            done = claim.action
        except CareLineError as exc:
            done = exc.message
    context = {
        "page": target,
        "items": target.items.order_by("created_at", "id")[:50],
        "person": person,
        "action": claim.action,
        "done": done,
    }
    return render(request, "oncall/ack.html", context)


urlpatterns: list[URLPattern] = [
    path("oncall/pages/", page_list, name="pages"),
    path("oncall/pages/<int:page_id>/", page_detail, name="page"),
    path(
        "oncall/pages/<int:page_id>/acknowledge/",
        page_answer,
        {"action": "acknowledge"},
        name="page-acknowledge",
    ),
    path(
        "oncall/pages/<int:page_id>/resolve/",
        page_answer,
        {"action": "resolve"},
        name="page-resolve",
    ),
    path("oncall/ack/<str:token>/", ack_link, name="ack"),
]
