"""Downtime procedures: what a department does on paper while a clinical service is down."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from careline.continuity.models import DowntimeProcedure
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import ClinicalService, Department, User
from careline.core.permissions import Perm, require
from careline.knowledge.models import Article

BODY_LIMIT = 20000


def create(
    actor: User | None,
    *,
    service: str,
    title: str,
    department: str | None = None,
    body: str = "",
    article_id: int | None = None,
    document_url: str = "",
) -> DowntimeProcedure:
    if actor is not None:
        require(actor, Perm.DOWNTIME_MANAGE)
    title = title.strip()
    if not title:
        raise InvalidInput("title must not be blank", field="title")
    if len(body) > BODY_LIMIT:
        raise InvalidInput(
            f"body must be at most {BODY_LIMIT} characters (got {len(body)})", field="body"
        )
    found_service = ClinicalService.objects.filter(code=service.strip().upper()).first()
    if found_service is None:
        raise InvalidInput(f"unknown clinical service code {service[:40]!r}", field="service")
    found_department = None
    if department:
        found_department = Department.objects.filter(code=department.strip().upper()).first()
        if found_department is None:
            raise InvalidInput(f"unknown department code {department[:40]!r}", field="department")
    article = None
    if article_id is not None:
        article = Article.objects.filter(pk=article_id).first()
        if article is None:
            raise InvalidInput(f"no knowledge article {article_id}", field="article_id")
    if document_url and not document_url.startswith(("https://", "http://")):
        raise InvalidInput("document_url must be an http(s) address", field="document_url")
    if not (body.strip() or article or document_url):
        raise InvalidInput("give the procedure's text, an article or a document", field="body")
    with transaction.atomic():
        if DowntimeProcedure.objects.filter(
            service=found_service, department=found_department
        ).exists():
            who = found_department.code if found_department else "all departments"
            raise Conflict(
                f"{found_service.code} already has a procedure for {who}", field="department"
            )
        procedure = DowntimeProcedure.objects.create(
            service=found_service,
            department=found_department,
            title=title[:200],
            body=body,
            article=article,
            document_url=document_url,
            created_at=timezone.now(),
        )
        audit.record(
            "downtime.procedure_created",
            actor=actor,
            obj=procedure,
            summary=f"{found_service.code} / "
            f"{found_department.code if found_department else 'all'}: {title[:120]}",
        )
    return procedure


def delete(actor: User, procedure_id: int) -> None:
    require(actor, Perm.DOWNTIME_MANAGE)
    with transaction.atomic():
        procedure = DowntimeProcedure.objects.filter(pk=procedure_id).first()
        if procedure is None:
            raise NotFound(f"no downtime procedure {procedure_id}", field="id")
        audit.record(
            "downtime.procedure_deleted",
            actor=actor,
            obj=procedure,
            summary=procedure.title[:200],
            before={"service": procedure.service_id, "department": procedure.department_id},
        )
        procedure.delete()
