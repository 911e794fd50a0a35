"""GET /api/v1/status (the status page as JSON) and the notices IT posts on it.

Reading the status needs what the page needs: a signed-in session or an API token, or, when
the status page is public, a connection from the hospital's networks. Posting and ending
notices needs downtime.manage (checked in the services).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.security import HttpBearer, SessionAuth

from careline.core import services
from careline.core.callers import signed_in
from careline.core.models import User
from careline.reports.models import StatusNotice
from careline.reports.status import access, notices, report
from careline.reports.status.schemas import StatusNoticeIn, StatusNoticeOut, StatusOut

router = Router(tags=["status"])


class BearerToken(HttpBearer):
    """The API's bearer token (careline.api cannot be imported here: it imports this module)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = services.authenticate_token(token)
        if user is not None:
            request.user = user
        return user


def _hospital_network(request: HttpRequest) -> bool:
    """Anonymous, from the hospital's networks, while the status page is public."""
    return access.anonymous_may_read(request)


def notice_out(notice: StatusNotice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "title": notice.title,
        "text": notice.text,
        "severity": notice.severity,
        "services": [s.code for s in notice.services.all()],
        "posted_by": notice.posted_by.display_name,
        "posted_at": notice.posted_at,
        "expires_at": notice.expires_at,
        "ended_at": notice.ended_at,
    }


@router.get("/status", response=StatusOut, auth=[BearerToken(), SessionAuth(), _hospital_network])
def get_status(request: HttpRequest) -> dict[str, Any]:
    """Every clinical service's state, downtime in force, planned work and IT's notices.

    Also readable without credentials when CARELINE_STATUS_PUBLIC is on, from the networks in
    CARELINE_STATUS_NETWORKS."""
    built = report.build()
    return {
        "generated_at": built.generated_at,
        "overall": built.overall,
        "headline": built.headline,
        "counts": built.counts,
        "services": built.services,
        "downtime": built.downtime,
        "scheduled": [
            {**asdict(w), "in_progress": w.in_progress(built.generated_at)} for w in built.scheduled
        ],
        "notices": [notice_out(n) for n in built.notices],
    }


@router.get("/status/notices", response=list[StatusNoticeOut])
def list_notices(request: HttpRequest) -> list[dict[str, Any]]:
    """Every notice, ended and expired ones too, the newest first (at most 200)."""
    signed_in(request)
    found = StatusNotice.objects.select_related("posted_by").prefetch_related("services")
    return [notice_out(n) for n in found.order_by("-posted_at", "-id")[:200]]


@router.post("/status/notices", response={201: StatusNoticeOut})
def post_notice(request: HttpRequest, payload: StatusNoticeIn) -> Status[dict[str, Any]]:
    notice = notices.post_notice(
        signed_in(request),
        notices.NoticeDraft(
            title=payload.title,
            text=payload.text,
            severity=payload.severity,
            services=payload.services,
            expires_at=payload.expires_at,
        ),
    )
    return Status(201, notice_out(notices.get_notice(notice.pk)))


@router.post("/status/notices/{notice_id}/end", response=StatusNoticeOut)
def end_notice(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    notices.end_notice(signed_in(request), notice_id)
    return notice_out(notices.get_notice(notice_id))
