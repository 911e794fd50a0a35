"""Probes for load balancers and Prometheus: /healthz, /readyz, /metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from careline import __version__
from careline.core import services
from careline.core.models import ApiToken, AuditEvent, User
from careline.core.permissions import Perm, has_perm
from careline.engine.status import engine_status


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Says nothing of the database on purpose."""
    return JsonResponse({"status": "ok", "version": __version__})


# Apps add what readiness should report about them (in AppConfig.ready).
READINESS: dict[str, Callable[[], object]] = {}


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers. Also reports the engine's heartbeat age."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "unavailable", "database": f"error: {exc.__class__.__name__}"}, status=503
        )
    engine = engine_status()
    return JsonResponse(
        {
            "status": "ok",
            "database": connection.vendor,
            "engine": engine.as_dict(),
            **{name: report() for name, report in READINESS.items()},
        },
    )


class _CareLineCollector(Collector):
    """Gauges read from the database at scrape time, so every web worker reports the same."""

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        yield InfoMetricFamily("careline_build", "CareLine version", value={"version": __version__})
        users = GaugeMetricFamily("careline_users", "Active accounts by role", labels=["role"])
        for row in User.objects.filter(is_active=True).values("role").annotate(n=Count("id")):
            users.add_metric([row["role"]], row["n"])
        yield users
        yield GaugeMetricFamily(
            "careline_api_tokens_active",
            "API tokens not revoked",
            value=ApiToken.objects.filter(revoked_at__isnull=True).count(),
        )
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        yield GaugeMetricFamily(
            "careline_audit_last_event_id", "Id of the newest audit event", value=last or 0
        )
        engine = engine_status()
        yield GaugeMetricFamily(
            "careline_engine_running",
            "1 when an engine beat within its lease",
            value=int(engine.running),
        )
        yield GaugeMetricFamily(
            "careline_engine_nodes", "Engines beating within their lease", value=engine.nodes
        )
        if engine.heartbeat_age_s is not None:
            yield GaugeMetricFamily(
                "careline_engine_heartbeat_age_seconds",
                "Age of the newest engine heartbeat",
                value=engine.heartbeat_age_s,
            )


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a bearer token (or session) whose role may read metrics."""
    user = request.user
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token_user = services.authenticate_token(header.removeprefix("Bearer ").strip())
        if token_user is None:
            return JsonResponse({"detail": "Authorization: token unknown or revoked"}, status=401)
        user = token_user
    if not user.is_authenticated:
        response = JsonResponse({"detail": "Authorization: a bearer token is required"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="careline"'
        return response
    if not has_perm(user, Perm.METRICS_VIEW):
        return JsonResponse({"detail": f"the {user.role} role may not read metrics"}, status=403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_CareLineCollector())
    return HttpResponse(
        generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8"
    )
