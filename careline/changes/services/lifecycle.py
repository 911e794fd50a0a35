"""A change's life: submit, the advisory board's decisions, the work, its review, closing.

One transition table; every step checks it and answers 409 with the reason when refused.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from careline.changes.choices import ChangeKind, ChangeState, Decision, Outcome
from careline.changes.models import Approval, Change
from careline.changes.services import conflicts
from careline.changes.services.changes import changing
from careline.continuity.services.downtime import cancel_for_source, schedule_planned_downtime
from careline.core import audit
from careline.core.errors import Conflict, Forbidden, InvalidInput
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.monitoring.models import Monitor
from careline.monitoring.services import maintenance

S = ChangeState
TRANSITIONS: dict[str, frozenset[str]] = {
    # An emergency change may go to work before the board meets (approved afterwards).
    # Work that will not happen is cancelled any time before it starts.
    S.DRAFT: frozenset({S.SUBMITTED, S.IMPLEMENTING, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.IMPLEMENTING, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.REJECTED: frozenset({S.CLOSED}),
    S.SCHEDULED: frozenset({S.IMPLEMENTING, S.CANCELLED}),
    S.IMPLEMENTING: frozenset({S.IMPLEMENTED, S.FAILED, S.BACKED_OUT}),
    S.IMPLEMENTED: frozenset({S.REVIEWED}),
    S.FAILED: frozenset({S.REVIEWED}),
    S.BACKED_OUT: frozenset({S.REVIEWED}),
    S.REVIEWED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Reached only by an emergency change, never by a standard or normal one.
EMERGENCY_ONLY = {(S.DRAFT, S.IMPLEMENTING), (S.SUBMITTED, S.IMPLEMENTING)}


def _move(actor: User, change: Change, target: str, summary: str) -> None:
    if target not in TRANSITIONS[S(change.state)]:
        allowed = ", ".join(sorted(TRANSITIONS[S(change.state)])) or "nothing: closed is final"
        raise Conflict(
            f"change {change.number} cannot go from {change.state} to {target} (allowed: {allowed})",
            field="state",
        )
    if (change.state, target) in EMERGENCY_ONLY and change.kind != ChangeKind.EMERGENCY:
        raise Conflict(
            f"change {change.number} is a {change.kind} change: only an emergency change "
            "starts before it is approved",
            field="state",
        )
    before = change.state
    change.state = target
    audit.record(
        f"change.{target}",
        actor=actor,
        obj=change,
        summary=f"Change {change.number} {summary}",
        before={"state": before},
        after={"state": target},
    )


def _open_window(change: Change) -> None:
    """Silence the monitors of the change's services and items for its window."""
    if change.maintenance_window_id is not None or change.planned_start is None:
        return
    services = [s.code for s in change.services.all()]
    monitors = list(
        Monitor.objects.filter(config_item__in=change.items.all()).values_list("pk", flat=True)
    )
    if not services and not monitors:
        return
    # No actor: the board's approval is the authority here, not the approver's own
    # permission to manage monitors.
    change.maintenance_window = maintenance.create_window(
        None,
        name=f"{change.number} {change.title}"[:200],
        starts_at=change.planned_start,
        ends_at=change.planned_end,
        services=services,
        monitors=monitors,
    )


def _announce_downtime(actor: User, change: Change) -> None:
    """A change that takes its service down becomes a planned downtime, announced to the
    departments that rely on the service (in this same transaction: no approval without it)."""
    if not change.service_unavailable:
        return
    assert change.planned_start is not None
    assert change.planned_end is not None
    schedule_planned_downtime(
        actor,
        title=f"{change.number} {change.title}"[:200],
        services=[s.code for s in change.services.order_by("code")],
        starts_at=change.planned_start,
        ends_at=change.planned_end,
        description=change.description,
        source=change.number,
    )


def _schedule(actor: User, change: Change) -> None:
    now = timezone.now()
    change.approved_at = change.approved_at or now
    if change.state == S.SUBMITTED:
        _move(actor, change, S.APPROVED, "approved")
        _open_window(change)
        _announce_downtime(actor, change)
        _move(actor, change, S.SCHEDULED, "scheduled")
    else:
        # An emergency change already under way: the approval comes after the fact.
        audit.record(
            "change.approved_after",
            actor=actor,
            obj=change,
            summary=f"Emergency change {change.number} approved after the fact",
        )


def _require_window(change: Change) -> None:
    if change.planned_start is None:
        raise InvalidInput("a change is submitted with its planned window", field="planned_start")
    if change.planned_end is None:
        raise InvalidInput("a change is submitted with its planned window", field="planned_end")
    if change.service_unavailable and not change.services.exists():
        raise InvalidInput(
            "a change that makes its service unavailable names the service", field="services"
        )
    if change.kind != ChangeKind.STANDARD and not change.implementation_plan:
        raise InvalidInput("say how the change is carried out", field="implementation_plan")


def submit(actor: User, change_id: int, version: int | None = None) -> Change:
    """Submit for approval; conflicts found are stored as warnings. A standard change is
    approved at once unless it falls in a blackout, which only the board may override."""
    require(actor, Perm.CHANGES_EDIT)
    with changing(actor, change_id, version) as change:
        _require_window(change)
        _move(actor, change, S.SUBMITTED, "submitted")
        change.submitted_at = timezone.now()
        change.conflicts = conflicts.find(change)
        if change.kind == ChangeKind.STANDARD and not change.blocking_conflicts:
            _schedule(actor, change)
    return change


def _may_decide(actor: User, change: Change) -> None:
    require(actor, Perm.CHANGES_APPROVE)
    if change.requester_id == actor.pk:
        raise Forbidden(f"the requester of {change.number} may not decide on their own change")
    after_the_fact = (
        change.kind == ChangeKind.EMERGENCY
        and change.approved_at is None
        and change.state in (S.IMPLEMENTING, S.IMPLEMENTED, S.FAILED, S.BACKED_OUT)
    )
    if change.state != S.SUBMITTED and not after_the_fact:
        raise Conflict(
            f"change {change.number} is {change.state}; the board decides on submitted changes",
            field="state",
        )
    if change.approvals.filter(approver=actor).exists():
        raise Conflict(f"you have already decided on {change.number}", field="approver")


def approve(
    actor: User, change_id: int, comment: str = "", emergency_justification: str = ""
) -> Change:
    with changing(actor, change_id) as change:
        _may_decide(actor, change)
        justification = emergency_justification.strip() or change.emergency_justification
        if change.blocking_conflicts and not justification:
            raise Conflict(
                f"change {change.number} falls in a clinical blackout; approving it needs an "
                "emergency justification",
                field="emergency_justification",
            )
        change.emergency_justification = justification
        Approval.objects.create(
            change=change,
            approver=actor,
            decision=Decision.APPROVED,
            comment=comment.strip(),
            at=timezone.now(),
        )
        audit.record(
            "change.approval",
            actor=actor,
            obj=change,
            summary=f"{actor.username} approved {change.number}",
            after={"comment": comment.strip(), "justification": justification},
        )
        given = change.approvals.filter(decision=Decision.APPROVED).count()
        if given >= settings.CHANGE_APPROVALS:
            _schedule(actor, change)
    return change


def reject(actor: User, change_id: int, comment: str = "") -> Change:
    if not comment.strip():
        raise InvalidInput("say why the change is rejected", field="comment")
    with changing(actor, change_id) as change:
        _may_decide(actor, change)
        Approval.objects.create(
            change=change,
            approver=actor,
            decision=Decision.REJECTED,
            comment=comment.strip(),
            at=timezone.now(),
        )
        if change.state != S.SUBMITTED:
            # The work is already done; the rejection stands on the record for the review.
            audit.record(
                "change.rejected_after",
                actor=actor,
                obj=change,
                summary=f"Emergency change {change.number} rejected after the fact",
                after={"comment": comment.strip()},
            )
        else:
            _move(actor, change, S.REJECTED, f"rejected by {actor.username}")
    return change


def start(actor: User, change_id: int, emergency_justification: str = "") -> Change:
    require(actor, Perm.CHANGES_EDIT)
    with changing(actor, change_id) as change:
        if change.kind == ChangeKind.EMERGENCY and change.approved_at is None:
            justification = emergency_justification.strip() or change.emergency_justification
            if not justification:
                raise InvalidInput(
                    "an emergency change starts before approval only with its justification",
                    field="emergency_justification",
                )
            change.emergency_justification = justification
        never_submitted = change.state == S.DRAFT
        _move(actor, change, S.IMPLEMENTING, "under way")
        change.started_at = timezone.now()
        if never_submitted:
            # An emergency that skipped submit still shows the board what it ran into.
            change.conflicts = conflicts.find(change)
        if change.kind == ChangeKind.EMERGENCY:
            _open_window(change)
    return change


def complete(actor: User, change_id: int, outcome: str, notes: str = "") -> Change:
    require(actor, Perm.CHANGES_EDIT)
    if outcome not in Outcome.values:
        raise InvalidInput(
            f"must be one of {', '.join(Outcome.values)} (got {outcome[:40]!r})", field="outcome"
        )
    with changing(actor, change_id) as change:
        _move(actor, change, outcome, f"finished: {outcome}")
        change.outcome = outcome
        change.outcome_notes = notes.strip()
        change.completed_at = timezone.now()
    return change


def review(actor: User, change_id: int, notes: str) -> Change:
    require(actor, Perm.CHANGES_EDIT)
    if not notes.strip():
        raise InvalidInput("the post-implementation review needs its notes", field="notes")
    with changing(actor, change_id) as change:
        if change.kind == ChangeKind.EMERGENCY and change.approved_at is None:
            raise Conflict(
                f"emergency change {change.number} has not been approved yet; the review "
                "waits for the board",
                field="state",
            )
        _move(actor, change, S.REVIEWED, "reviewed")
        change.review_notes = notes.strip()
        change.reviewed_at = timezone.now()
    return change


def close(actor: User, change_id: int) -> Change:
    require(actor, Perm.CHANGES_EDIT)
    with changing(actor, change_id) as change:
        _move(actor, change, S.CLOSED, "closed")
        change.closed_at = timezone.now()
    return change


def cancel(actor: User, change_id: int, reason: str) -> Change:
    """Work that will not happen: before it starts, with the reason. Its maintenance window
    ends now (no monitor stays silenced for it) and its planned downtime is cancelled, the
    departments already told being told it is off."""
    require(actor, Perm.CHANGES_EDIT)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the change is cancelled", field="reason")
    with changing(actor, change_id) as change:
        _move(actor, change, S.CANCELLED, f"cancelled: {reason[:200]}")
        change.closed_at = timezone.now()
        change.outcome_notes = reason
        if change.maintenance_window_id is not None:
            maintenance.end_window(actor, change.maintenance_window_id, change.closed_at)
        cancel_for_source(actor, change.number, f"{change.number} was cancelled: {reason}")
    return change
