import functools
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.models import Count, Q, QuerySet, Subquery
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.text import get_valid_filename
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from careline.core import audit
from careline.core.callers import signed_in
from careline.core.errors import Forbidden, InvalidInput, NotFound
from careline.core.models import ClinicalService, Department, Site, User
from careline.core.pagination import MAX_OFFSET
from careline.core.schemas import InSchema
from careline.core.services import service_by_code, user_by_username
from careline.servicedesk import phi
from careline.servicedesk.choices import CareEffect, Kind, Priority, Scope
from careline.servicedesk.choices import Status as TicketStatus
from careline.servicedesk.models import Attachment, Comment, Queue, Ticket
from careline.servicedesk.schemas import (
    SUMMARY_VALUES,
    AssignIn,
    AttachmentOut,
    CommentIn,
    CommentOut,
    LinkIn,
    MergeIn,
    PhiCheckIn,
    PhiCheckOut,
    PriorityIn,
    SecurityIn,
    StatusIn,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
    TicketSummaryOut,
)
from careline.servicedesk.search import ranked_ids, search
from careline.servicedesk.services import attachments, lifecycle, relations, tickets
from careline.servicedesk.services.tickets import TicketDraft, is_staff

router = Router(tags=["tickets"])

TICKET_RELATED = ("requester", "department", "site", "service", "queue", "assignee", "parent")


def _loaded(user: User, ticket_id: int) -> Ticket:
    return tickets.get_visible(user, ticket_id)


class TicketFilter(InSchema):
    q: str | None = Field(
        None, max_length=200, description="words to search for, or a ticket number"
    )
    status: list[TicketStatus] | None = Field(None, description="one or more statuses")
    open: bool | None = Field(None, description="true: only tickets not yet resolved")
    priority: list[Priority] | None = None
    kind: Kind | None = None
    queue: str | None = Field(None, max_length=32)
    site: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=32)
    service: str | None = Field(None, max_length=32)
    assignee: str | None = Field(None, max_length=150, description="a username, 'me', or 'none'")
    requester: str | None = Field(None, max_length=150)
    care_effect: CareEffect | None = None
    scope: Scope | None = None
    major: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    monitor: int | None = Field(None, description="tickets opened for this monitor")


def narrowed(user: User, f: TicketFilter) -> QuerySet[Ticket]:
    """The console's and the API's one filter: visibility first, then each filter given but
    the words to search for."""
    qs = Ticket.objects.visible_to(user)
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.open is True:
        qs = qs.open()
    elif f.open is False:
        qs = qs.filter(done__in=[True])
    # A place named by its code is matched by its id, found in a subquery the database runs
    # once: the queue indexes lead with that id, so the first page is read from the index in
    # the queue's order (a join on the code made PostgreSQL sort every open ticket there).
    for column, model, code in (
        ("queue_id", Queue, f.queue),
        ("site_id", Site, f.site),
        ("department_id", Department, f.department),
        ("service_id", ClinicalService, f.service),
    ):
        if code is not None:
            found = model._default_manager.filter(code=code).values("id")[:1]
            qs = qs.filter(**{column: Subquery(found)})
    for field, value in (
        ("priority__in", f.priority),
        ("kind", f.kind),
        ("requester__username", f.requester),
        ("care_effect", f.care_effect),
        ("scope", f.scope),
        ("is_major", f.major),
        ("created_at__gte", f.created_after),
        ("created_at__lt", f.created_before),
        ("monitor_incidents__monitor_id", f.monitor),
    ):
        if value is not None and value != []:
            qs = qs.filter(**{field: value})
    if f.assignee == "me":
        qs = qs.filter(assignee=user)
    elif f.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee:
        qs = qs.filter(assignee__username=f.assignee)
    return qs


# The queue's order: open before done, clinical priority, then the nearest deadline.
QUEUE_ORDER = ("done", "priority", "resolve_by", "id")


def filtered_tickets(user: User, f: TicketFilter) -> QuerySet[Ticket]:
    """Every filter, words included, in the queue's order or best match first."""
    qs = narrowed(user, f).select_related(*TICKET_RELATED)
    if f.q and f.q.strip():
        return search(qs, f.q)
    return qs.order_by(*QUEUE_ORDER)


@router.post("/tickets", response={201: TicketOut}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketIn) -> Status[Ticket]:
    user = signed_in(request)
    requester = (
        user_by_username(payload.requester, field="requester") if payload.requester else None
    )
    draft = TicketDraft(
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        department=payload.department,
        service=payload.service,
        care_effect=payload.care_effect,
        scope=payload.scope,
        phi_breach_suspected=payload.phi_breach_suspected,
        via="api",
    )
    # The service's ticket already holds every related row the answer shows.
    return Status(201, tickets.create_ticket(user, draft, requester=requester))


# A page says how many tickets match up to this many; past it, "at least this many".
COUNT_CAP = 1000


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/tickets", response=TicketPage, summary="Tickets you may see, filtered")
def list_tickets(
    request: HttpRequest, filters: Query[TicketFilter], page: Query[PageParams]
) -> HttpResponse:
    tickets_qs = narrowed(signed_in(request), filters)
    end = page.offset + page.limit
    if filters.q and filters.q.strip():
        ranked = ranked_ids(tickets_qs, filters.q)
        ids, count, exact = ranked.ids[page.offset : end], len(ranked.ids), not ranked.window_full
    else:
        ids, count = _queue_page(tickets_qs, page.offset, page.limit)
        exact = count <= COUNT_CAP
        count = min(count, COUNT_CAP)
    result = {"items": _summaries(ids), "count": count, "count_exact": exact}
    # The hottest read of the desk: validated and serialised by pydantic's compiled core,
    # against the same TicketPage schema the OpenAPI document publishes.
    body = TicketPage.model_validate(result).model_dump_json()
    return HttpResponse(body, content_type="application/json")


def _queue_page(tickets_qs: QuerySet[Ticket], offset: int, limit: int) -> tuple[list[int], int]:
    """The page's ids in the queue's order, and how many match up to COUNT_CAP + 1.

    Two narrow statements, each served from a covering index, over one filter compiled once:
    the ORM's compiling of the filter (visibility, places, priorities) costs more than running
    either. (A window count in the page's own query was measured slower: it materialises every
    matching row.)
    """
    query = tickets_qs.order_by().values_list("pk").query
    # What follows appends to the filter's SQL, which must be a plain SELECT ... WHERE.
    assert not query.distinct
    assert not query.is_sliced
    assert not query.group_by
    sql, params = query.sql_with_params()
    table = connection.ops.quote_name(Ticket._meta.db_table)
    order = ", ".join(
        f"{table}.{connection.ops.quote_name(_column(Ticket, name).column)}" for name in QUEUE_ORDER
    )
    with connection.cursor() as cursor:
        # Integers inlined, as the ORM does: the page's plan is made knowing its size.
        cursor.execute(f"{sql} ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}", params)
        ids = [row[0] for row in cursor.fetchall()]
        count_sql = f"SELECT COUNT(*) FROM ({sql} LIMIT {COUNT_CAP + 1}) matched"  # noqa: S608  (the ORM's SQL)
        cursor.execute(count_sql, params)
        (count,) = cursor.fetchone()
    return ids, count


def _column(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _summaries(ids: list[int]) -> list[dict[str, object]]:
    """The rows of a page as plain values, in the order of `ids`, in one query.

    Every page of the queue and of search ends here, so the statement is written once per
    page size rather than compiled by the ORM each time, and datetimes come as ISO 8601 text
    for pydantic's compiled parser rather than through a Python converter per value.
    """
    if not ids:
        return []
    names, sql = _summary_sql(len(ids), connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    return [rows[pk] for pk in ids if pk in rows]


def _iso_utc(column: str, vendor: str) -> str:
    """SQL giving a stored datetime as ISO 8601 text in UTC, e.g. 2026-11-24T07:00:00.000000Z."""
    if vendor == "postgresql":
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    # SQLite keeps UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]".
    return f"replace({column}, ' ', 'T') || 'Z'"


@functools.cache
def _summary_sql(count: int, vendor: str) -> tuple[list[str], str]:
    """SELECT of TicketSummaryOut's fields for `count` ids: the ticket's own columns, and a
    join per related code or username (SUMMARY_VALUES)."""
    meta = Ticket._meta
    names, columns, joins = [], [], []
    for name in TicketSummaryOut.model_fields:
        names.append(name)
        if name not in SUMMARY_VALUES:
            own = _column(Ticket, name)
            if isinstance(own, models.DateTimeField):
                columns.append(_iso_utc(f"t.{own.column}", vendor))
            else:
                columns.append(f"t.{own.column}")
            continue
        relation, attribute = SUMMARY_VALUES[name].split("__")
        fk = _column(Ticket, relation)
        related: type[models.Model] = fk.related_model  # type: ignore[assignment]
        kind = "LEFT JOIN" if fk.null else "JOIN"
        joins.append(f"{kind} {related._meta.db_table} {name} ON {name}.id = t.{fk.column}")
        columns.append(f"{name}.{_column(related, attribute).column}")
    placeholders = ", ".join(["%s"] * count)
    sql = (
        f"SELECT {', '.join(columns)} FROM {meta.db_table} t {' '.join(joins)} "  # noqa: S608  (names from the models)
        f"WHERE t.id IN ({placeholders})"
    )
    return names, sql


@router.post(
    "/tickets/phi-check", response=PhiCheckOut, summary="Likely patient information in a draft"
)
def phi_check(request: HttpRequest, payload: PhiCheckIn) -> dict[str, object]:
    findings = phi.scan(payload.title, payload.description)
    joined = "\n".join((payload.title, payload.description))
    message = (
        f"This looks like it contains {phi.describe(findings)}. IT does not need patient details "
        "to fix most problems: please remove them, or leave them only if IT must see them."
        if findings
        else ""
    )
    return {
        "flagged": bool(findings),
        "message": message,
        "findings": [{"kind": f.kind, "masked": f.masked(joined)} for f in findings],
    }


class KnownIncidentOut(Schema):
    id: int
    number: str
    title: str
    service: str | None
    priority: Priority
    created_at: datetime
    affected_count: int


@router.get(
    "/incidents/known", response=list[KnownIncidentOut], summary="Open incidents everyone may join"
)
def known_incidents(request: HttpRequest, service: str | None = None) -> list[dict[str, object]]:
    service_id = service_by_code(service).pk if service else None
    rows = relations.known_incidents(service_id).annotate(affected_count=Count("affected"))[:20]
    return [_known(t) for t in rows]


def _known(ticket: Ticket) -> dict[str, object]:
    """What anyone may read of a known incident: never a title that may hold PHI."""
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "title": relations.public_title(ticket),
        "service": ticket.service.code if ticket.service else None,
        "priority": ticket.priority,
        "created_at": ticket.created_at,
        "affected_count": getattr(ticket, "affected_count", 0),
    }


@router.get("/tickets/{ticket_id}", response=TicketOut)
def get_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    user = signed_in(request)
    ticket = _loaded(user, ticket_id)
    tickets.record_view(user, ticket)
    return ticket


@router.patch("/tickets/{ticket_id}", response=TicketOut)
def patch_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatch) -> Ticket:
    user = signed_in(request)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    if not changes:
        raise InvalidInput("name at least one field to change", field="body")
    tickets.update_ticket(user, ticket_id, version, changes)
    return _loaded(user, ticket_id)


@router.post("/tickets/{ticket_id}/status", response=TicketOut)
def change_status(request: HttpRequest, ticket_id: int, payload: StatusIn) -> Ticket:
    user = signed_in(request)
    lifecycle.change_status(
        user,
        ticket_id,
        payload.status,
        version=payload.version,
        resolution_code=payload.resolution_code or "",
        resolution_notes=payload.resolution_notes,
    )
    return _loaded(user, ticket_id)


@router.post("/tickets/{ticket_id}/assign", response=TicketOut)
def assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> Ticket:
    user = signed_in(request)
    assignee = user_by_username(payload.assignee, field="assignee") if payload.assignee else None
    queue = None
    if payload.queue:
        queue = Queue.objects.filter(code=payload.queue).first()
        if queue is None:
            raise NotFound(f"no queue has code {payload.queue!r}", field="queue")
    lifecycle.assign(user, ticket_id, assignee=assignee, queue=queue, version=payload.version)
    return _loaded(user, ticket_id)


@router.get("/tickets/{ticket_id}/comments", response=list[CommentOut])
def list_comments(request: HttpRequest, ticket_id: int) -> QuerySet[Comment]:
    user = signed_in(request)
    ticket = _loaded(user, ticket_id)
    comments = ticket.comments.order_by("created_at", "id")
    return comments if is_staff(user) else comments.filter(public=True)


@router.post("/tickets/{ticket_id}/comments", response={201: CommentOut})
def add_comment(request: HttpRequest, ticket_id: int, payload: CommentIn) -> Status[Comment]:
    comment = lifecycle.add_comment(
        signed_in(request),
        ticket_id,
        payload.body,
        public=payload.public,
        minutes_spent=payload.minutes_spent,
        via="api",
    )
    return Status(201, comment)


@router.post(
    "/tickets/{ticket_id}/priority", response=TicketOut, summary="Override the computed priority"
)
def override_priority(request: HttpRequest, ticket_id: int, payload: PriorityIn) -> Ticket:
    user = signed_in(request)
    tickets.override_priority(user, ticket_id, payload.priority, payload.reason, payload.version)
    return _loaded(user, ticket_id)


@router.post("/tickets/{ticket_id}/links", response={201: TicketOut})
def link(request: HttpRequest, ticket_id: int, payload: LinkIn) -> Status[Ticket]:
    user = signed_in(request)
    relations.link(user, ticket_id, payload.target, payload.kind)
    return Status(201, _loaded(user, ticket_id))


@router.post(
    "/tickets/{ticket_id}/merge",
    response=TicketOut,
    summary="Close a duplicate into another ticket",
)
def merge(request: HttpRequest, ticket_id: int, payload: MergeIn) -> Ticket:
    user = signed_in(request)
    relations.merge_duplicate(user, ticket_id, payload.into)
    return _loaded(user, ticket_id)


@router.post("/tickets/{ticket_id}/major", response=TicketOut, summary="Declare a major incident")
def promote_major(request: HttpRequest, ticket_id: int) -> Ticket:
    user = signed_in(request)
    relations.promote_major(user, ticket_id)
    return _loaded(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/affected",
    response={201: KnownIncidentOut},
    summary="I have this problem too",
)
def add_affected(request: HttpRequest, ticket_id: int) -> Status[dict[str, object]]:
    relations.add_affected(signed_in(request), ticket_id)
    ticket = (
        relations.known_incidents().annotate(affected_count=Count("affected")).get(pk=ticket_id)
    )
    return Status(201, _known(ticket))


@router.post(
    "/tickets/{ticket_id}/security",
    response=TicketOut,
    summary="Record a security incident's outcome",
)
def security_assessment(request: HttpRequest, ticket_id: int, payload: SecurityIn) -> Ticket:
    user = signed_in(request)
    lifecycle.set_security_assessment(
        user,
        ticket_id,
        outcome=payload.outcome,
        breach_risk=payload.breach_risk,
        assessment=payload.assessment,
        version=payload.version,
    )
    return _loaded(user, ticket_id)


def _attachments_visible(user: User, ticket: Ticket) -> QuerySet[Attachment]:
    files = ticket.attachments.select_related("uploaded_by").order_by("created_at", "id")
    # A file sent with an internal note is staff-only, like the note.
    return (
        files if is_staff(user) else files.filter(Q(comment__isnull=True) | Q(comment__public=True))
    )


@router.get("/tickets/{ticket_id}/attachments", response=list[AttachmentOut])
def list_attachments(request: HttpRequest, ticket_id: int) -> QuerySet[Attachment]:
    user = signed_in(request)
    return _attachments_visible(user, _loaded(user, ticket_id))


@router.post(
    "/tickets/{ticket_id}/attachments",
    response={201: AttachmentOut},
    summary="Attach a file (multipart field 'file'); 413 over the size limit, 415 for programs",
)
def upload_attachment(
    request: HttpRequest, ticket_id: int, file: File[UploadedFile]
) -> Status[Attachment]:
    user = signed_in(request)
    if user.role == "auditor":
        raise Forbidden("the auditor role may not change tickets")
    ticket = _loaded(user, ticket_id)
    filename = get_valid_filename(file.name or "") if (file.name or "").strip(". ") else ""
    attachments.check(filename, file.content_type or "", file.size or 0)
    with attachments.files_in_transaction() as stored:
        attachment = attachments.add_attachment(
            user,
            ticket,
            filename=filename,
            content_type=file.content_type or "application/octet-stream",
            data=file.read(),
            stored=stored,
            via="api",
        )
    return Status(201, attachment)


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}",
    response={200: None},
    summary="Download a file",
)
def download_attachment(request: HttpRequest, ticket_id: int, attachment_id: int) -> FileResponse:
    user = signed_in(request)
    ticket = _loaded(user, ticket_id)
    attachment = _attachments_visible(user, ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(
            f"ticket {ticket.number} has no file {attachment_id} that you may see",
            field="attachment_id",
        )
    audit.record(
        "ticket.attachment_download",
        actor=user,
        obj=ticket,
        summary=f"{ticket.number} file {attachment.filename} downloaded",
    )
    response = FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.filename
    )
    # Never let a browser render an uploaded file as a page of CareLine's.
    response["Content-Security-Policy"] = "sandbox"
    return response
