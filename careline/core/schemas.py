from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints, field_validator

from careline.core.apiparser import DB_INT_MAX, first_problem
from careline.core.choices import ClinicalArea, Role


class InSchema(Schema):
    """Every request body and filter: text holding a NUL character, or a whole number no
    database column holds, is refused naming the field (the API's parser refuses them in any
    request already: careline/core/apiparser.py; this holds wherever a schema is built)."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object) -> object:
        problem = first_problem(value)
        if problem:
            raise ValueError(problem[1])
        return value


Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A row's id as a client gives it in a query parameter of its own (schemas' fields are checked
# by InSchema, bodies by the API's parser): past 64 bits no database can even compare it.
RowId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]


class SiteIn(InSchema):
    code: Code = Field(description="short upper-case code, e.g. NORTH")
    name: Name
    time_zone: str = Field(
        "UTC", max_length=64, description="IANA time zone, e.g. America/New_York"
    )


class SiteOut(Schema):
    code: str
    name: str
    time_zone: str


class DepartmentIn(InSchema):
    code: Code
    name: Name
    site: Code = Field(description="code of the site the department is in")
    clinical_area: ClinicalArea
    critical: bool | None = Field(
        None, description="defaults to true for ed, icu, or, labour_delivery, nicu and pharmacy"
    )


class DepartmentOut(Schema):
    code: str
    name: str
    site: str = Field(alias="site.code")
    clinical_area: ClinicalArea
    critical: bool


class ServiceIn(InSchema):
    code: Code
    name: Name
    tier: int = Field(3, ge=1, le=3, description="1 = life-critical, 2, 3")
    description: str = Field("", max_length=5000)


class ServiceOut(Schema):
    code: str
    name: str
    tier: int
    description: str


class MeOut(Schema):
    username: str
    display_name: str
    role: Role
    department: str | None = Field(None, alias="department.code")
    mfa_enrolled: bool = Field(alias="has_mfa")


class EngineOut(Schema):
    running: bool
    leader: str | None
    heartbeat_age_s: float | None
    nodes: int


class AuditEventOut(Schema):
    id: int
    at: datetime
    actor_name: str
    action: str
    object_type: str
    object_id: str
    summary: str
    request_id: str
    hash: str
