from careline.core.models.audit import AuditEvent
from careline.core.models.people import ApiToken, User
from careline.core.models.places import ClinicalService, Department, Site

__all__ = ["ApiToken", "AuditEvent", "ClinicalService", "Department", "Site", "User"]
