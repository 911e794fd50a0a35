"""The ticket page (one view, a requester's and a staff version) and the small views its
forms post to. Each of those calls one service function and redirects back (PRG); a refusal
re-renders the page with the message next to the form, with 409 for a stale version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from careline.cmdb.models import ConfigItem, Vendor
from careline.core.callers import signed_in
from careline.core.errors import CareLineError, Forbidden, InvalidInput, NotFound
from careline.core.markdown import render as markdown
from careline.core.models import AuditEvent, User
from careline.core.services import user_by_username
from careline.servicedesk.choices import Kind, LinkKind, Status
from careline.servicedesk.forms import (
    AssignForm,
    CareLineForm,
    CommentForm,
    ConfigItemForm,
    ConfirmForm,
    LinkForm,
    MajorForm,
    MergeForm,
    PriorityForm,
    ReplyForm,
    ResolveForm,
    SecurityForm,
    StatusForm,
    VendorForm,
    queue_choices,
    staff_choices,
)
from careline.servicedesk.models import Queue, Ticket, TicketLink
from careline.servicedesk.services import impact, lifecycle, relations, tickets
from careline.servicedesk.views.common import (
    clock,
    error_status,
    not_found,
    ticket_ref,
    time_left,
)

# Events the timeline shows another way (the comment itself) or not at all (reads).
TIMELINE_SKIPS = ("ticket.view", "ticket.comment", "ticket.note")


@dataclass(frozen=True)
class Entry:
    """One line of the staff timeline: an audit event, a public reply or an internal note."""

    at: datetime
    when: str  # in the time zone of the ticket's site
    kind: str  # "event", "reply", "note"
    who: str
    text: str = ""
    html: SafeString | None = None
    minutes: int = 0


def _can_write(user: User) -> bool:
    """Staff who may change tickets; the rule itself is the service's."""
    try:
        tickets.require_writer(user, "change tickets")
    except Forbidden:
        return False
    return True


def _when(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.day} {local:%b %H:%M}"


def _timeline(ticket: Ticket, comments: list[Any]) -> list[Entry]:
    zone = ticket.site.zone
    events = (
        AuditEvent.objects.filter(object_type="servicedesk.ticket", object_id=str(ticket.pk))
        .exclude(action__in=TIMELINE_SKIPS)
        .only("at", "actor_name", "summary", "action")
    )
    entries = [
        Entry(e.at, _when(e.at, zone), "event", e.actor_name or "system", text=e.summary)
        for e in events
    ]
    entries += [
        Entry(
            c.created_at,
            _when(c.created_at, zone),
            "reply" if c.public else "note",
            c.author_name,
            html=mark_safe(markdown(c.body)),  # noqa: S308  (nh3-cleaned)
            minutes=c.minutes_spent,
        )
        for c in comments
    ]
    # Stable sort: an event and the comment it records keep the order they were written in.
    return sorted(entries, key=lambda e: e.at)


def _links(user: User, ticket: Ticket) -> list[dict[str, Any]]:
    """Linked tickets this person may see, in words from this ticket's side."""
    rows = list(
        TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket))
        .select_related("source", "target")
        .order_by("created_at", "id")
    )
    labels = dict(LinkKind.choices)
    inverse = {
        LinkKind.DUPLICATE_OF: "Has duplicate",
        LinkKind.CHILD_OF: "Major incident of",
        LinkKind.RELATED: "Related to",
    }
    pairs = [(link, link.source_id == ticket.pk) for link in rows]
    others = [link.target if outgoing else link.source for link, outgoing in pairs]
    # Of the tickets linked to this one, IT staff can be kept only from security incidents;
    # ask the visibility rule about those alone, so the usual page costs no query for it.
    guarded = [t.pk for t in others if t.kind == Kind.SECURITY]
    hidden = set(guarded) - set(
        Ticket.objects.visible_to(user).filter(pk__in=guarded).values_list("pk", flat=True)
        if guarded
        else []
    )
    found = []
    for (link, outgoing), other in zip(pairs, others, strict=True):
        if other.pk in hidden:
            continue
        found.append(
            {
                "label": labels[link.kind] if outgoing else inverse[LinkKind(link.kind)],
                "ticket": other,
            }
        )
    return found


def _allowed(ticket: Ticket) -> list[str]:
    """The statuses this ticket may move to, in the order of the lifecycle."""
    allowed = lifecycle.TRANSITIONS[Status(ticket.status)]
    return [s for s in Status.values if s in allowed]


def _forms(ticket: Ticket, failed: dict[str, CareLineForm]) -> dict[str, CareLineForm]:
    """The staff forms, each unbound with the ticket's values, or the one that just failed."""
    version = {"version": ticket.version}
    allowed = _allowed(ticket)
    forms: dict[str, CareLineForm] = {
        "comment_form": CommentForm(),
        "status_form": StatusForm(initial=version, allowed=allowed),
        "resolve_form": ResolveForm(initial=version),
        "assign_form": AssignForm(
            initial={
                **version,
                "assignee": ticket.assignee.username if ticket.assignee else "",
                "queue": ticket.queue.code if ticket.queue else "",
            },
            people=staff_choices("Nobody"),
            queues=queue_choices("Keep the current queue"),
        ),
        "priority_form": PriorityForm(initial={**version, "priority": ticket.priority}),
        "item_form": ConfigItemForm(
            initial={**version, "item": ticket.config_item.name if ticket.config_item else ""}
        ),
        "vendor_form": VendorForm(
            initial={**version, "vendor": ticket.vendor_id}, vendors=_vendor_choices()
        ),
        "merge_form": MergeForm(),
        "link_form": LinkForm(),
        "major_form": MajorForm(initial=version),
    }
    if ticket.kind == Kind.SECURITY:
        forms["security_form"] = SecurityForm(
            initial={
                **version,
                "security_outcome": ticket.security_outcome,
                "breach_risk": ticket.breach_risk,
                "breach_assessment": ticket.breach_assessment,
            }
        )
    forms.update(failed)
    return forms


def _page(
    request: HttpRequest,
    user: User,
    ticket: Ticket,
    *,
    failed: dict[str, CareLineForm] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    tickets.record_view(user, ticket)  # every read of a ticket is in the access log
    now = timezone.now()
    staff = tickets.is_staff(user)
    writer = _can_write(user)
    comments_qs = ticket.comments.all() if staff else ticket.comments.filter(public=True)
    comments = list(comments_qs.order_by("created_at", "id"))
    zone = ticket.site.zone
    context: dict[str, Any] = {
        "ticket": ticket,
        "staff": staff,
        "writer": writer,
        "is_requester": ticket.requester_id == user.pk,
        "priority_sentence": ticket.priority_reason.rstrip(". ") + ".",
        "description_html": mark_safe(markdown(ticket.description)),  # noqa: S308  (nh3-cleaned)
        "respond_by": clock(ticket.respond_by, zone, now),
        "responded_at": clock(ticket.responded_at, zone, now) if ticket.responded_at else "",
        "resolve_by": clock(ticket.resolve_by, zone, now),
        "resolved_at": clock(ticket.resolved_at, zone, now) if ticket.resolved_at else "",
        "opened_at": clock(ticket.created_at, zone, now),
        "site_zone": f"{ticket.site.name} time ({ticket.site.time_zone})",
        "time_left": time_left(ticket, now),
        "affected_count": ticket.affected.count(),
        "error": error,
    }
    forms_failed = failed or {}
    if staff:
        context["timeline"] = _timeline(ticket, comments)
        context["links"] = _links(user, ticket)
        context["children_count"] = ticket.children.count() if ticket.is_major else 0
        if writer:
            context.update(_forms(ticket, forms_failed))
    else:
        context["replies"] = [
            {"at": c.created_at, "who": c.author_name, "html": mark_safe(markdown(c.body))}  # noqa: S308
            for c in comments
        ]
        context["reply_form"] = forms_failed.get("reply_form") or ReplyForm()
        context["confirm_form"] = forms_failed.get("confirm_form") or ConfirmForm(
            initial={"version": ticket.version}
        )
    return render(request, "servicedesk/ticket.html", context, status=status)


def _visible(user: User, ticket_id: int) -> Ticket | None:
    try:
        return tickets.get_visible(user, ticket_id)
    except NotFound:
        return None


@require_GET
def ticket_page(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = signed_in(request)
    ticket = _visible(user, ticket_id)
    if ticket is None:
        return not_found(request)
    return _page(request, user, ticket)


Action = Callable[[User, dict[str, Any]], str]


def _act(
    request: HttpRequest,
    ticket_id: int,
    form_key: str,
    make_form: Callable[[Ticket], CareLineForm],
    action: Action,
) -> HttpResponse:
    """Bind the posted form, run the service call, and redirect back with its message."""
    user = signed_in(request)
    ticket = _visible(user, ticket_id)
    if ticket is None:
        return not_found(request)
    form = make_form(ticket)
    status = 422
    if form.is_valid():
        try:
            done = action(user, form.cleaned_data)
        except CareLineError as exc:
            form.add_domain_error(exc)
            status = error_status(exc)
        else:
            messages.success(request, done)
            return redirect("servicedesk:ticket", ticket_id=ticket_id)
    form.describe_errors()
    if "version" in form.fields:
        # Shown again with what was typed, but against the ticket as it is now: sending it
        # again (after reading the page) is then a deliberate change, not a second conflict.
        form.data = {**form.data, "version": str(ticket.version)}
    return _page(
        request,
        user,
        ticket,
        failed={form_key: form},
        error=form.first_error() or "The change was not made.",
        status=status,
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


@require_POST
def comment(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """A public reply (anyone who may see the ticket) or an internal note (staff)."""
    user = signed_in(request)
    if not tickets.is_staff(user):

        def reply(actor: User, data: dict[str, Any]) -> str:
            lifecycle.add_comment(actor, ticket_id, data["body"], public=True)
            return "Your reply was sent to IT."

        return _act(request, ticket_id, "reply_form", lambda t: ReplyForm(request.POST), reply)

    internal = request.POST.get("visibility") == "internal"

    def note(actor: User, data: dict[str, Any]) -> str:
        lifecycle.add_comment(
            actor,
            ticket_id,
            data["body"],
            public=not internal,
            minutes_spent=data["minutes_spent"] or 0,
        )
        return "Internal note added." if internal else "Reply sent to the requester."

    return _act(request, ticket_id, "comment_form", lambda t: CommentForm(request.POST), note)


@require_POST
def change_status(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        ticket = lifecycle.change_status(
            actor, ticket_id, data["status"], version=_int(data["version"])
        )
        return f"{ticket.number} is now {ticket.get_status_display().lower()}."

    def make(ticket: Ticket) -> CareLineForm:
        return StatusForm(request.POST, allowed=_allowed(ticket))

    return _act(request, ticket_id, "status_form", make, do)


@require_POST
def resolve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        ticket = lifecycle.change_status(
            actor,
            ticket_id,
            Status.RESOLVED,
            version=_int(data["version"]),
            resolution_code=data["resolution_code"],
            resolution_notes=data["resolution_notes"],
        )
        return f"{ticket.number} is resolved; the requester is asked to confirm."

    return _act(request, ticket_id, "resolve_form", lambda t: ResolveForm(request.POST), do)


@require_POST
def confirm(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The requester's answer to a resolution: "Yes, it's fixed" or "No, still broken"."""
    fixed = request.POST.get("answer") == "fixed"

    def do(actor: User, data: dict[str, Any]) -> str:
        target = Status.CLOSED if fixed else Status.IN_PROGRESS
        lifecycle.change_status(actor, ticket_id, target, version=_int(data["version"]))
        if fixed:
            return "Thank you. The ticket is closed."
        return "Sorry it is still not working. The ticket is open again and back with IT."

    return _act(request, ticket_id, "confirm_form", lambda t: ConfirmForm(request.POST), do)


@require_POST
def assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        assignee = (
            user_by_username(data["assignee"], field="assignee") if data["assignee"] else None
        )
        queue = None
        if data["queue"]:
            queue = Queue.objects.filter(code=data["queue"]).first()
            if queue is None:
                raise InvalidInput(f"no queue has code {data['queue'][:32]!r}", field="queue")
        ticket = lifecycle.assign(
            actor, ticket_id, assignee=assignee, queue=queue, version=_int(data["version"])
        )
        who = ticket.assignee.display_name if ticket.assignee else "nobody"
        return f"{ticket.number} is assigned to {who}."

    def make(ticket: Ticket) -> CareLineForm:
        return AssignForm(
            request.POST,
            people=staff_choices("Nobody"),
            queues=queue_choices("Keep the current queue"),
        )

    return _act(request, ticket_id, "assign_form", make, do)


@require_POST
def override_priority(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        ticket = tickets.override_priority(
            actor, ticket_id, data["priority"], data["reason"], _int(data["version"])
        )
        return f"{ticket.number} is now {ticket.priority}."

    return _act(request, ticket_id, "priority_form", lambda t: PriorityForm(request.POST), do)


def _vendor_choices() -> list[tuple[int, str]]:
    return list(Vendor.objects.order_by("name").values_list("pk", "name"))


@require_POST
def config_item(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Name the failed item: the priority follows its clinical impact (the CMDB's)."""

    def do(actor: User, data: dict[str, Any]) -> str:
        name = data["item"].strip()
        item_id = None
        if name:
            item = ConfigItem.objects.filter(name=name).only("pk").first()
            if item is None:
                raise InvalidInput(f"no CMDB item is named {name[:60]!r}", field="item")
            item_id = item.pk
        ticket = impact.set_config_item(actor, ticket_id, _int(data["version"]), item_id)
        if ticket.config_item is None:
            return f"{ticket.number} names no failed item."
        return f"{ticket.number}: {ticket.config_item.name} failed; {ticket.priority}: {ticket.priority_reason}"

    return _act(request, ticket_id, "item_form", lambda t: ConfigItemForm(request.POST), do)


@require_POST
def hand_to_vendor(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Wait on a vendor; refused for a ticket holding patient details without an active BAA."""

    def do(actor: User, data: dict[str, Any]) -> str:
        ticket = impact.hand_to_vendor(actor, ticket_id, _int(data["version"]), data["vendor"])
        vendor = ticket.vendor.name if ticket.vendor else ""
        return f"{ticket.number} is waiting on {vendor}."

    return _act(
        request,
        ticket_id,
        "vendor_form",
        lambda t: VendorForm(request.POST, vendors=_vendor_choices()),
        do,
    )


@require_POST
def merge(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        into = ticket_ref(actor, data["into"], "into")
        ticket = relations.merge_duplicate(actor, ticket_id, into)
        return f"{ticket.number} was merged: {ticket.resolution_notes}"

    return _act(request, ticket_id, "merge_form", lambda t: MergeForm(request.POST), do)


@require_POST
def link(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        target = ticket_ref(actor, data["target"], "target")
        created = relations.link(actor, ticket_id, target, data["kind"])
        return f"Linked: {LinkKind(created.kind).label.lower()} {created.target.number}."

    return _act(request, ticket_id, "link_form", lambda t: LinkForm(request.POST), do)


@require_POST
def promote_major(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        ticket = relations.promote_major(actor, ticket_id, _int(data["version"]))
        return f"{ticket.number} is now a major incident."

    return _act(request, ticket_id, "major_form", lambda t: MajorForm(request.POST), do)


@require_POST
def security_assessment(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def do(actor: User, data: dict[str, Any]) -> str:
        ticket = lifecycle.set_security_assessment(
            actor,
            ticket_id,
            outcome=data["security_outcome"],
            breach_risk=data["breach_risk"],
            assessment=data["breach_assessment"],
            version=_int(data["version"]),
        )
        return f"Assessment of {ticket.number} recorded."

    return _act(request, ticket_id, "security_form", lambda t: SecurityForm(request.POST), do)
