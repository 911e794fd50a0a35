"""The heartbeat URLs: `GET|POST /hb/<uuid>`, `/hb/<uuid>/start`, `/hb/<uuid>/fail`.

Public (the unguessable id is the credential), without session or CSRF, and lean: see
heartbeats.record_ping.
"""

from __future__ import annotations

import math
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from careline.monitoring.choices import PingKind
from careline.monitoring.heartbeats import body_limit, record_ping


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


def _refusal(detail: str, status: int) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    # Not one log line per refused ping: a misconfigured job retrying every second, or
    # someone guessing ids, would flood the log and slow every worker down.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _ping(request: HttpRequest, token: uuid.UUID, kind: str) -> HttpResponse:
    value = _value(request)
    if isinstance(value, str):
        return _refusal(value, 400)
    stored = record_ping(token, kind, value, _body(request), request.META.get("REMOTE_ADDR", ""))
    if not stored:
        return _refusal("id: no heartbeat has this id", 404)
    return HttpResponse("OK\n", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    return _ping(request, token, PingKind.PING)


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def start(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    return _ping(request, token, PingKind.START)


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def fail(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    return _ping(request, token, PingKind.FAIL)
