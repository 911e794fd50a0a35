from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from careline.core import services
from careline.core.callers import signed_in
from careline.core.models import AuditEvent, ClinicalService, Department, Site, User
from careline.core.permissions import Perm, require
from careline.core.schemas import (
    AuditEventOut,
    DepartmentIn,
    DepartmentOut,
    EngineOut,
    InSchema,
    MeOut,
    ServiceIn,
    ServiceOut,
    SiteIn,
    SiteOut,
)
from careline.engine.status import engine_status

router = Router()


@router.get("/me", response=MeOut, tags=["people"], summary="Who the caller is")
def me(request: HttpRequest) -> User:
    return signed_in(request)


@router.get("/sites", response=list[SiteOut], tags=["places"])
@paginate
def list_sites(request: HttpRequest) -> QuerySet[Site]:
    require(signed_in(request), Perm.PLACES_VIEW)
    return Site.objects.order_by("code")


@router.post("/sites", response={201: SiteOut}, tags=["places"])
def create_site(request: HttpRequest, payload: SiteIn) -> Status[Site]:
    return Status(201, services.create_site(signed_in(request), **payload.dict()))


@router.get("/sites/{code}", response=SiteOut, tags=["places"])
def get_site(request: HttpRequest, code: str) -> Site:
    require(signed_in(request), Perm.PLACES_VIEW)
    return services.site_by_code(code, field="code")


class DepartmentFilter(InSchema):
    site: str | None = None
    critical: bool | None = None


@router.get("/departments", response=list[DepartmentOut], tags=["places"])
@paginate
def list_departments(
    request: HttpRequest, filters: Query[DepartmentFilter]
) -> QuerySet[Department]:
    require(signed_in(request), Perm.PLACES_VIEW)
    departments = Department.objects.select_related("site").order_by("code")
    if filters.site:
        departments = departments.filter(site__code=filters.site)
    if filters.critical is not None:
        departments = departments.filter(critical=filters.critical)
    return departments


@router.post("/departments", response={201: DepartmentOut}, tags=["places"])
def create_department(request: HttpRequest, payload: DepartmentIn) -> Status[Department]:
    return Status(201, services.create_department(signed_in(request), **payload.dict()))


@router.get("/departments/{code}", response=DepartmentOut, tags=["places"])
def get_department(request: HttpRequest, code: str) -> Department:
    require(signed_in(request), Perm.PLACES_VIEW)
    return services.department_by_code(code, field="code")


@router.get("/services", response=list[ServiceOut], tags=["places"])
@paginate
def list_services(request: HttpRequest) -> QuerySet[ClinicalService]:
    require(signed_in(request), Perm.PLACES_VIEW)
    return ClinicalService.objects.order_by("tier", "code")


@router.post("/services", response={201: ServiceOut}, tags=["places"])
def create_service(request: HttpRequest, payload: ServiceIn) -> Status[ClinicalService]:
    return Status(201, services.create_service(signed_in(request), **payload.dict()))


@router.get("/services/{code}", response=ServiceOut, tags=["places"])
def get_service(request: HttpRequest, code: str) -> ClinicalService:
    require(signed_in(request), Perm.PLACES_VIEW)
    return services.service_by_code(code, field="code")


@router.get(
    "/engine", response=EngineOut, tags=["platform"], summary="The engines' heartbeat and leader"
)
def engine(request: HttpRequest) -> dict[str, object]:
    require(signed_in(request), Perm.ENGINE_VIEW)
    return engine_status().as_dict()


class AuditFilter(InSchema):
    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None


@router.get("/audit", response=list[AuditEventOut], tags=["audit"])
@paginate
def list_audit(request: HttpRequest, filters: Query[AuditFilter]) -> QuerySet[AuditEvent]:
    require(signed_in(request), Perm.AUDIT_VIEW)
    events = AuditEvent.objects.order_by("-id")
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.actor:
        events = events.filter(actor_name=filters.actor)
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    if filters.object_id:
        events = events.filter(object_id=filters.object_id)
    return events
