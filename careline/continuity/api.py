"""/api/v1/downtime and /api/v1/downtime-procedures. Everyone signed in reads; changing
needs downtime.manage (checked in the services)."""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, overload

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from careline.continuity.models import (
    DowntimeEvent,
    DowntimeProcedure,
    DowntimeStatus,
    DowntimeUpdate,
)
from careline.continuity.schemas import (
    CancelIn,
    ChecklistItemOut,
    DowntimeDetailOut,
    DowntimeIn,
    DowntimeOut,
    ProcedureIn,
    ProcedureOut,
    ReportOut,
    TicketLinkIn,
    UpdateIn,
    UpdateOut,
)
from careline.continuity.services import downtime, procedures, report
from careline.core.callers import signed_in

router = Router(tags=["downtime"])


class ListFilters(Schema):
    active: bool | None = None
    planned: bool | None = None
    service: str | None = None


def _out(event: DowntimeEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "reference": event.reference,
        "title": event.title,
        "description": event.description,
        "kind": event.kind,
        "status": event.status,
        "services": [s.code for s in event.services.all()],
        "departments": [d.code for d in event.departments.all()],
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "ended_at": event.ended_at,
        "read_only_access": event.read_only_access,
        "recovery_complete": event.recovery_complete,
        "announce_at": event.announce_at,
        "notified_at": event.notified_at,
        "closed_at": event.closed_at,
        "source": event.source,
        "tickets": [t.number for t in event.tickets.all()],
    }


def _detail(event_id: int) -> dict[str, Any]:
    event = (
        DowntimeEvent.objects.prefetch_related("services", "departments", "tickets")
        .filter(pk=event_id)
        .first()
    ) or downtime.get_event(event_id)
    body = _out(event)
    body["updates"] = list(event.updates.select_related("author"))
    body["checklist"] = list(event.checklist.select_related("service", "department", "done_by"))
    return body


@router.post("/downtime", response={201: DowntimeDetailOut})
def create_event(request: HttpRequest, payload: DowntimeIn) -> Status[dict[str, Any]]:
    event = downtime.declare(
        signed_in(request),
        downtime.DowntimeDraft(
            title=payload.title,
            kind=payload.kind,
            services=payload.services,
            departments=payload.departments,
            starts_at=payload.starts_at or timezone.now(),
            ends_at=payload.ends_at,
            description=payload.description,
            read_only_access=payload.read_only_access,
        ),
    )
    return Status(201, _detail(event.pk))


class _Listed(Sequence[dict[str, Any]]):
    """Events as the API shows them, built only for the page asked for (the paginator
    slices this and counts it with one COUNT query)."""

    def __init__(self, events: QuerySet[DowntimeEvent]) -> None:
        self.events = events

    def __len__(self) -> int:
        return self.events.count()

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [_out(e) for e in self.events[index]]
        return _out(self.events[index])


@router.get("/downtime", response=list[DowntimeOut])
@paginate
def list_events(request: HttpRequest, filters: Query[ListFilters]) -> _Listed:
    """Newest first; `limit` (at most 500) and `offset` page through them."""
    signed_in(request)
    events = DowntimeEvent.objects.prefetch_related("services", "departments", "tickets")
    if filters.active is not None:
        events = (
            events.filter(status=DowntimeStatus.ACTIVE)
            if filters.active
            else events.exclude(status=DowntimeStatus.ACTIVE)
        )
    if filters.planned is not None:
        events = events.filter(kind="planned" if filters.planned else "unplanned")
    if filters.service:
        events = events.filter(
            pk__in=DowntimeEvent.services.through.objects.filter(
                clinicalservice__code=filters.service.strip().upper()
            ).values("downtimeevent_id")
        )
    return _Listed(events.order_by("-starts_at", "-id"))


@router.get("/downtime/{event_id}", response=DowntimeDetailOut)
def get_event(request: HttpRequest, event_id: int) -> dict[str, Any]:
    signed_in(request)
    return _detail(event_id)


@router.post("/downtime/{event_id}/updates", response={201: UpdateOut})
def post_update(request: HttpRequest, event_id: int, payload: UpdateIn) -> Status[DowntimeUpdate]:
    return Status(201, downtime.add_update(signed_in(request), event_id, payload.text))


@router.post("/downtime/{event_id}/end", response=DowntimeDetailOut)
def end_event(request: HttpRequest, event_id: int) -> dict[str, Any]:
    downtime.end(signed_in(request), event_id)
    return _detail(event_id)


@router.post("/downtime/{event_id}/cancel", response=DowntimeDetailOut)
def cancel_event(request: HttpRequest, event_id: int, payload: CancelIn) -> dict[str, Any]:
    downtime.cancel(signed_in(request), event_id, payload.reason)
    return _detail(event_id)


@router.post("/downtime/{event_id}/checklist", response=DowntimeDetailOut)
def prepare_checklist(request: HttpRequest, event_id: int) -> dict[str, Any]:
    downtime.prepare_checklist(signed_in(request), event_id)
    return _detail(event_id)


@router.post("/downtime/{event_id}/checklist/{item_id}", response=ChecklistItemOut)
def tick_item(request: HttpRequest, event_id: int, item_id: int) -> Any:
    return downtime.tick(signed_in(request), event_id, item_id)


@router.post("/downtime/{event_id}/close", response=DowntimeDetailOut)
def close_event(request: HttpRequest, event_id: int) -> dict[str, Any]:
    downtime.close(signed_in(request), event_id)
    return _detail(event_id)


@router.post("/downtime/{event_id}/tickets", response=DowntimeDetailOut)
def link_ticket(request: HttpRequest, event_id: int, payload: TicketLinkIn) -> dict[str, Any]:
    downtime.link_ticket(signed_in(request), event_id, payload.ticket)
    return _detail(event_id)


@router.get("/downtime/{event_id}/report", response=ReportOut)
def event_report(request: HttpRequest, event_id: int) -> dict[str, Any]:
    signed_in(request)
    return asdict(report.build(downtime.get_event(event_id)))


@router.get("/downtime-procedures", response=list[ProcedureOut])
def list_procedures(request: HttpRequest) -> list[DowntimeProcedure]:
    signed_in(request)
    return list(DowntimeProcedure.objects.select_related("service", "department"))


@router.post("/downtime-procedures", response={201: ProcedureOut})
def create_procedure(request: HttpRequest, payload: ProcedureIn) -> Status[DowntimeProcedure]:
    return Status(
        201,
        procedures.create(
            signed_in(request),
            service=payload.service,
            department=payload.department,
            title=payload.title,
            body=payload.body,
            article_id=payload.article_id,
            document_url=payload.document_url,
        ),
    )


@router.delete("/downtime-procedures/{procedure_id}", response={204: None})
def delete_procedure(request: HttpRequest, procedure_id: int) -> Status[None]:
    procedures.delete(signed_in(request), procedure_id)
    return Status(204, None)
