from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints, field_validator

from careline.core.choices import ClinicalArea, Role


class InSchema(Schema):
    """Every request body and filter: text holding a NUL character is refused naming the
    field (PostgreSQL cannot store one, and no ticket, name or code needs one)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if _holds_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


def _holds_nul(value: object, depth: int = 0) -> bool:
    """A NUL anywhere in the text of a value, including the keys and values of nested JSON."""
    if isinstance(value, str):
        return "\x00" in value
    if depth > 20:
        return False
    if isinstance(value, dict):
        return any(_holds_nul(k, depth + 1) or _holds_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v, depth + 1) for v in value)
    return False


Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


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
