"""Recovery pages: every service's backups against its RPO and drills against its RTO, with
what is wrong flagged; a service's page with its DR plan, backup jobs, restore tests and
drills, and the forms to keep them (recovery.manage)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from careline.continuity.models import DrDrill, RestoreResult, RestoreTest
from careline.continuity.services import readiness, recovery
from careline.continuity.views import form_datetime
from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput, NotFound
from careline.core.permissions import Perm, has_perm
from careline.core.services import service_by_code
from careline.core.views import require_page
from careline.monitoring.services.monitors import ping_url


def readiness_list(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.RECOVERY_VIEW)) is not None:
        return denied
    states = readiness.readiness()
    context = {
        "rows": [
            {
                "state": s,
                "rpo": readiness.hours(s.plan.rpo_minutes) if s.plan else "",
                "rto": readiness.hours(s.plan.rto_minutes) if s.plan else "",
            }
            for s in states
        ],
        "flagged": sum(1 for s in states if not s.ok),
    }
    return render(request, "continuity/recovery_list.html", context)


def service_page(request: HttpRequest, code: str) -> HttpResponse:
    if (denied := require_page(request, Perm.RECOVERY_VIEW)) is not None:
        return denied
    try:
        service = service_by_code(code.strip().upper(), field="code")
    except NotFound as exc:
        raise Http404(exc.message) from None
    [state] = readiness.readiness(services=[service.code])
    plan = recovery.plan_for(service)
    can_manage = has_perm(request.user, Perm.RECOVERY_MANAGE)
    context = {
        "service": service,
        "state": state,
        "plan": plan,
        "jobs": [
            {"state": j, "ping_url": ping_url(j.job.monitor) if can_manage else None}
            for j in state.jobs
        ],
        "drills": DrDrill.objects.filter(service=service).select_related("recorded_by")[:20],
        "tests": RestoreTest.objects.filter(job__service=service).select_related(
            "job", "recorded_by"
        )[:20],
        "results": RestoreResult.choices,
        "can_manage": can_manage,
        "rpo": readiness.hours(plan.rpo_minutes) if plan else "",
        "rto": readiness.hours(plan.rto_minutes) if plan else "",
        "steps_text": "\n".join(plan.steps) if plan else "",
        "contacts_text": "\n".join(
            " | ".join(c.get(k, "") for k in ("name", "role", "phone", "email"))
            for c in (plan.contacts if plan else [])
        ),
        "depends_text": " ".join(s.code for s in plan.depends_on.all()) if plan else "",
    }
    return render(request, "continuity/recovery_service.html", context)


def _act(request: HttpRequest, code: str, action: Callable[[], object], done: str) -> HttpResponse:
    try:
        action()
    except CareLineError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("continuity:recovery_service", code=code.upper())


def _int(value: str, field: str, *, required: bool = True) -> int | None:
    value = value.strip()
    if not value:
        if required:
            raise InvalidInput("must be given", field=field)
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"must be a whole number (got {value[:20]!r})", field=field) from None


def _contacts(text: str) -> list[dict[str, Any]]:
    """One contact a line: name | role | phone | email."""
    contacts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")] + ["", "", ""]
        contacts.append(dict(zip(("name", "role", "phone", "email"), parts[:4], strict=True)))
    return contacts


@require_POST
def save_plan(request: HttpRequest, code: str) -> HttpResponse:
    post = request.POST

    def save() -> object:
        return recovery.save_plan(
            signed_in(request),
            code,
            recovery.PlanDraft(
                rpo_minutes=_int(post.get("rpo_minutes", ""), "rpo_minutes") or 0,
                rto_minutes=_int(post.get("rto_minutes", ""), "rto_minutes") or 0,
                steps=[s for s in post.get("steps", "").splitlines() if s.strip()],
                contacts=_contacts(post.get("contacts", "")),
                depends_on=post.get("depends_on", "").replace(",", " ").split(),
                notes=post.get("notes", ""),
                reviewed=post.get("reviewed") == "on",
            ),
        )

    return _act(request, code, save, "Recovery plan saved.")


@require_POST
def record_drill(request: HttpRequest, code: str) -> HttpResponse:
    post = request.POST

    def record() -> object:
        started = form_datetime(post.get("started_at", ""), "started_at")
        recovered = form_datetime(post.get("recovered_at", ""), "recovered_at")
        if started is None:
            raise InvalidInput("must be given", field="started_at")
        if recovered is None:
            raise InvalidInput("must be given", field="recovered_at")
        return recovery.record_drill(
            signed_in(request),
            code,
            recovery.DrillDraft(
                scenario=post.get("scenario", ""),
                started_at=started,
                recovered_at=recovered,
                data_loss_minutes=_int(
                    post.get("data_loss_minutes", ""), "data_loss_minutes", required=False
                ),
                participants=post.get("participants", ""),
                notes=post.get("notes", ""),
            ),
        )

    return _act(request, code, record, "DR drill recorded.")


@require_POST
def record_restore_test(request: HttpRequest, code: str, job_id: int) -> HttpResponse:
    post = request.POST

    def record() -> object:
        tested = form_datetime(post.get("tested_at", ""), "tested_at")
        if tested is None:
            raise InvalidInput("must be given", field="tested_at")
        return recovery.record_restore_test(
            signed_in(request),
            job_id,
            recovery.RestoreTestDraft(
                tested_at=tested,
                result=post.get("result", ""),
                backup_taken_at=form_datetime(post.get("backup_taken_at", ""), "backup_taken_at"),
                duration_minutes=_int(
                    post.get("duration_minutes", ""), "duration_minutes", required=False
                ),
                notes=post.get("notes", ""),
            ),
        )

    return _act(request, code, record, "Restore test recorded.")
