"""On-call pages: The outbox seen from outside: notifications, the dead-letter list, retry."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError
from careline.core.permissions import Perm
from careline.core.views import require_page
from careline.oncall.models import Channel
from careline.oncall.services import delivery


def _outbox_page(
    request: HttpRequest, error: CareLineError | None = None, status: int = 200
) -> HttpResponse:
    actor = signed_in(request)
    page = Paginator(delivery.dead_letters(actor), 50).get_page(request.GET.get("page"))
    waiting = delivery.waiting_by_channel(actor)
    context = {
        "page": page,
        "waiting": [(label, waiting[value]) for value, label in Channel.choices],
        "waiting_total": sum(waiting.values()),
        "error": error.message if error is not None else "",
    }
    return render(request, "oncall/outbox.html", context, status=status)


def outbox(request: HttpRequest) -> HttpResponse:
    """Dead letters, newest first, with the last error and a Retry button; waiting counts."""
    if (denied := require_page(request, Perm.OUTBOX_MANAGE)) is not None:
        return denied
    return _outbox_page(request)


@require_POST
def retry(request: HttpRequest, notification_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.OUTBOX_MANAGE)) is not None:
        return denied
    try:
        notification = delivery.retry(signed_in(request), notification_id)
    except CareLineError as exc:
        return _outbox_page(request, exc, exc.status)
    messages.success(
        request, f"{notification.get_channel_display()} to {notification.to} will be sent again."
    )
    return redirect("oncall:outbox")


urlpatterns: list[URLPattern] = [
    path("oncall/outbox/", outbox, name="outbox"),
    path("oncall/outbox/<int:notification_id>/retry/", retry, name="outbox-retry"),
]
