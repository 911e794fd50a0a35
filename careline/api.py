"""The REST API at /api/v1/: one NinjaAPI, each app contributing a router.

Errors are always JSON `{"detail": "..."}` with a 4xx status; the detail names the field.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from careline.changes.api import router as changes_router
from careline.cmdb.api import router as cmdb_router
from careline.continuity.api import router as continuity_router
from careline.continuity.recovery_api import router as recovery_router
from careline.core import requestctx, services
from careline.core.api import router as core_router
from careline.core.apiparser import CheckedParser
from careline.core.errors import CareLineError
from careline.core.models import User
from careline.knowledge.api import router as knowledge_router
from careline.monitoring.api import router as monitoring_router
from careline.oncall.api import router as oncall_router
from careline.reports.api import router as reports_router
from careline.servicedesk.api import router as servicedesk_router
from careline.servicedesk.config_api import router as desk_setup_router
from careline.servicedesk.impact_api import router as desk_impact_router
from careline.training.api import router as training_router

log = logging.getLogger("careline.api")


class BearerToken(HttpBearer):
    """`Authorization: Bearer cl_...`, a token from `careline token create`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = services.authenticate_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="CareLine API",
    version="1",
    description="The CareLine REST API. Authenticate with `Authorization: Bearer <token>` "
    "(`careline token create --user NAME`) or a signed-in browser session with its CSRF token.",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    # Refuses text with NUL characters and numbers beyond 64 bits in any request, naming them.
    parser=CheckedParser(),
)


def _field_of(loc: Any) -> str:
    # ninja reports ("body", "payload", "code"); the person needs "code".
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "data")]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field_of(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
        for e in exc.errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers anything the body's parser raises with "Cannot parse request body"; what
    # CareLine's parser refused (careline/core/apiparser.py) keeps its own answer.
    if isinstance(exc.__cause__, ValidationError):
        return _validation_error(request, exc.__cause__)
    if isinstance(exc.__cause__, HttpError):
        return _http_error(request, exc.__cause__)
    message = str(exc)
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = "body: not valid JSON"
    return api.create_response(request, {"detail": message}, status=exc.status_code)


@api.exception_handler(CareLineError)
def _domain_error(request: HttpRequest, exc: CareLineError) -> HttpResponse:
    body: dict[str, Any] = {"detail": str(exc)}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"body: request body larger than {limit} bytes"}, status=413
    )


@api.exception_handler(MultiPartParserError)
def _bad_form(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # A form upload Django could not read: no boundary, a broken part, a bad encoding.
    return api.create_response(
        request, {"detail": f"body: not valid multipart/form-data ({exc})"}, status=400
    )


@api.exception_handler(BadRequest)
@api.exception_handler(SuspiciousOperation)
@api.exception_handler(UnreadablePostError)
def _bad_request(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Django's own refusals of a request (too many fields or files, a body cut short).
    return api.create_response(request, {"detail": f"body: {exc}"}, status=400)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not bad input: log it whole, answer JSON the client can quote to the service desk.
    request_id = requestctx.current().request_id
    log.exception("request_id=%s unhandled API error", request_id)
    return api.create_response(
        request, {"detail": f"internal error; quote request id {request_id}"}, status=500
    )


api.add_router("/", core_router)
api.add_router("/", servicedesk_router)
api.add_router("/", desk_setup_router)
api.add_router("/", cmdb_router)
api.add_router("/", desk_impact_router)
api.add_router("/", knowledge_router)
api.add_router("/", monitoring_router)
api.add_router("/", oncall_router)
api.add_router("/", changes_router)
api.add_router("/", continuity_router)
api.add_router("/", recovery_router)
api.add_router("/", reports_router)
api.add_router("/", training_router)
