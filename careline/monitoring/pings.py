"""The heartbeat URLs: `GET|POST|HEAD /hb/<uuid>`, `/hb/<uuid>/start`, `/hb/<uuid>/fail`.

Public (the unguessable id is the credential) and answered by `HeartbeatIntake` in front of
Django (careline/wsgi.py): a ping needs no session, CSRF token, user, message store or URL
resolver, and at two thousand pings a second that machinery would cost more than the ping's
own statements (see heartbeats.record_ping).
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from careline.monitoring.choices import PingKind
from careline.monitoring.heartbeats import body_limit, record_ping

log = logging.getLogger("careline.monitoring")

PREFIX = "/hb/"
_PATH = re.compile(r"/hb/([^/]+)(?:/(start|fail))?/?")
_KINDS = {None: PingKind.PING, "start": PingKind.START, "fail": PingKind.FAIL}
METHODS = ("GET", "POST", "HEAD")


def _value(request: HttpRequest) -> float | str | None:
    raw = request.GET.get("value")
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return f"value: must be a number, e.g. 83.5 (got {raw[:40]!r})"
    if not math.isfinite(value):
        return f"value: must be a finite number (got {raw[:40]!r})"
    return value


def _body(request: HttpRequest) -> str:
    if request.method != "POST":
        return ""
    # Read no more than the limit: a job's log may be huge, its tail is not needed here.
    data = request.read(body_limit())
    return data.decode("utf-8", errors="replace").replace("\x00", "")


def _answer(response: HttpResponse) -> HttpResponse:
    # What the skipped security middleware would have said of a plain-text answer.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _refusal(detail: str, status: int) -> HttpResponse:
    response = JsonResponse({"detail": detail}, status=status)
    # Not one log line per refused ping: a misconfigured job retrying every second, or
    # someone guessing ids, would flood the log and slow every worker down.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return _answer(response)


def _store(token: uuid.UUID, kind: str, value: float | None, request: HttpRequest) -> bool:
    """Store the ping on the thread's kept database connection without checking it first.

    Django checks a kept connection at the start of each request (CONN_HEALTH_CHECKS), one
    more round trip: on PostgreSQL a fifth of a ping's cost. A ping trusts the connection
    instead, and one found dead (the database restarted) is replaced and the ping written
    once more.
    """
    body, sender = _body(request), request.META.get("REMOTE_ADDR", "")
    # Django's own flag for "checked this request" (not in its type stubs).
    connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return record_ping(token, kind, value, body, sender)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return record_ping(token, kind, value, body, sender)


def ping(request: HttpRequest) -> HttpResponse:
    """Answer one request under /hb/."""
    match = _PATH.fullmatch(request.path_info)
    if match is None:
        return _refusal(
            "path: a heartbeat is pinged at /hb/<id>, /hb/<id>/start or /hb/<id>/fail", 404
        )
    try:
        token = uuid.UUID(match[1])
    except ValueError:
        return _refusal("id: no heartbeat has this id", 404)
    if request.method not in METHODS:
        response = _refusal(f"method: {request.method} is not allowed; use GET, POST or HEAD", 405)
        response["Allow"] = ", ".join(METHODS)
        return response
    value = _value(request)
    if isinstance(value, str):
        return _refusal(value, 400)
    if not _store(token, _KINDS[match[2]], value, request):
        return _refusal("id: no heartbeat has this id", 404)
    return _answer(HttpResponse("OK\n", content_type="text/plain"))


class HeartbeatIntake:
    """The WSGI application CareLine serves: /hb/ is answered here, before Django's request
    handling (its signals, middleware and URL resolver, which cost as much as the ping
    itself); everything else goes to Django."""

    def __init__(self, django_app: Callable[..., Iterable[bytes]]) -> None:
        self.django_app = django_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.django_app(environ, start_response)
        request = WSGIRequest(environ)
        try:
            response = ping(request)
        except Exception:
            log.exception("heartbeat ping could not be stored")
            response = _refusal("server: the ping could not be stored; send it again", 503)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [] if request.method == "HEAD" else [response.content]


class HeartbeatMiddleware:
    """Answers /hb/ before any other middleware runs, where a request reaches Django without
    HeartbeatIntake (Django's test client); passes every other request on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PREFIX):
            return ping(request)
        return self.get_response(request)
