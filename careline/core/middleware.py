from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from careline.core import audit, requestctx
from careline.core.signin import LAST_ACTIVITY_KEY

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Paths that answer for themselves: the API returns 401 rather than a login redirect,
# probes must work without a session. (Heartbeat pings never get here: the first
# middleware answers them.)
PUBLIC_PREFIXES = (
    "/api/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/",
    # A signed acknowledgement link and a calendar feed carry their own credential.
    "/oncall/ack/",
    "/oncall/feed/",
)
# Requests a page makes by itself (htmx polling) say so with this header; they must not
# count as activity, or an unattended screen would never sign out.
BACKGROUND_HEADER = "HTTP_X_CARELINE_BACKGROUND"
# Rewriting the session on every request costs a database write; this often is enough.
ACTIVITY_WRITE_SECONDS = 10


class RequestIdMiddleware:
    """Gives every request an id (kept from X-Request-ID when sane) for logs and audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        origin = "api" if request.path.startswith("/api/") else "web"
        token = requestctx.bind(
            requestctx.RequestContext(
                request_id=request_id, ip=request.META.get("REMOTE_ADDR", ""), origin=origin
            )
        )
        try:
            response = self.get_response(request)
        finally:
            requestctx.reset(token)
        response["X-Request-ID"] = request_id
        return response


class IdleSessionMiddleware:
    """Signs a session out after CARELINE_SESSION_IDLE_MINUTES without activity.

    Shared ward workstations are left signed in; HIPAA expects an automatic logoff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(timezone.now().timestamp())
            last = request.session.get(LAST_ACTIVITY_KEY, now)
            if now - int(last) > settings.SESSION_IDLE_MINUTES * 60:
                user = request.user
                audit.record(
                    "logout.idle",
                    actor=user,
                    obj=user,
                    summary=f"Signed out after {settings.SESSION_IDLE_MINUTES} minutes without activity",
                )
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                if request.headers.get("HX-Request") == "true":
                    # A page's own refresh: send the whole page to the login, not a login
                    # form into the table being refreshed.
                    page = request.headers.get("HX-Current-URL", "/")
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = redirect_to_login(urlsplit(page).path or "/").url
                    return response
                messages.info(
                    request,
                    f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes without activity.",
                )
                return redirect_to_login(request.get_full_path())
            if (
                request.META.get(BACKGROUND_HEADER) != "1"
                and now - int(last) >= ACTIVITY_WRITE_SECONDS
            ):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's: every page needs a signed-in user, except the paths that answer for themselves."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(PUBLIC_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
