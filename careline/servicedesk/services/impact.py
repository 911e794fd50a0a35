"""A ticket and the CMDB: the failed item sets the priority from its clinical impact, and a
vendor may be given the ticket only when it may see what the ticket holds."""

from __future__ import annotations

from django.db import transaction

from careline.cmdb.impact import Impact, item_impact
from careline.cmdb.models import ConfigItem, Vendor
from careline.cmdb.services.vendors import has_active_baa
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput
from careline.core.models import ClinicalService, User
from careline.servicedesk.choices import CareEffect, Scope, Status
from careline.servicedesk.models import Ticket
from careline.servicedesk.services import lifecycle, sla
from careline.servicedesk.services.tickets import changing, page_if_now_urgent, require_writer
from careline.servicedesk.services.triage import TriageInput, triage

_EFFECT_RANK: dict[str, int] = {CareEffect.NONE: 0, CareEffect.DEGRADED: 1, CareEffect.BLOCKED: 2}
_SCOPE_RANK: dict[str, int] = {
    Scope.PERSON: 0,
    Scope.DEPARTMENT: 1,
    Scope.SITE: 2,
    Scope.ENTERPRISE: 3,
}


def _worse(ranks: dict[str, int], a: str, b: str) -> str:
    return a if ranks[a] >= ranks[b] else b


def apply_impact(ticket: Ticket, item: ConfigItem, impact: Impact) -> bool:
    """Raise the ticket's effect, scope and service to what the failure causes, and triage
    again; True when the priority changed. What the reporter said stands when it is worse;
    an agent's override stands until cleared."""
    ticket.care_effect = _worse(_EFFECT_RANK, ticket.care_effect, impact.care_effect)
    ticket.scope = _worse(_SCOPE_RANK, ticket.scope, impact.scope)
    top = impact.top_service
    if top is not None and (ticket.service is None or top.tier < ticket.service.tier):
        ticket.service = ClinicalService.objects.get(code=top.code)
    if ticket.priority_override_reason:
        return False
    critical = [d for d in impact.departments if d.critical and d.care_effect != CareEffect.NONE]
    department = ticket.department
    result = triage(
        TriageInput(
            care_effect=ticket.care_effect,
            scope=ticket.scope,
            critical_area=department.critical or bool(critical),
            area_label=department.clinical_area
            if department.critical or not critical
            else critical[0].clinical_area,
            service_tier=ticket.service.tier if ticket.service else None,
            service_name=ticket.service.name if ticket.service else "",
            kind=ticket.kind,
            phi_breach_suspected=ticket.phi_breach_suspected,
        )
    )
    changed = result.priority != ticket.priority
    ticket.priority = result.priority
    ticket.priority_reason = f"{result.reason}. {impact.explanation}"[:300]
    return changed


def set_config_item(
    actor: User, ticket_id: int, version: int | None, item_id: int | None
) -> Ticket:
    """Name the failed item (or none); the priority follows the item's clinical impact."""
    require_writer(actor, "set a ticket's failed item")
    item = None
    if item_id is not None:
        item = ConfigItem.objects.filter(pk=item_id).first()
        if item is None:
            raise InvalidInput(f"no configuration item has id {item_id}", field="item")
    with changing(actor, ticket_id, version, "config_item") as ticket:
        was_priority = ticket.priority
        before = {
            "config_item": ticket.config_item_id,
            "priority": ticket.priority,
            "care_effect": ticket.care_effect,
            "scope": ticket.scope,
        }
        ticket.config_item = item
        if item is not None and apply_impact(ticket, item, item_impact(item.pk)):
            responded = ticket.responded_at
            sla.start_clocks(ticket, ticket.created_at)
            if responded is not None:
                ticket.response_result = "met" if responded <= ticket.respond_by else "breached"
            page_if_now_urgent(ticket, was_priority)
        audit.record(
            "ticket.config_item",
            actor=actor,
            obj=ticket,
            summary=f"{ticket.number} failed item: {item.name if item else 'none'}; {ticket.priority}: {ticket.priority_reason}"[
                :300
            ],
            before=before,
            after={
                "config_item": ticket.config_item_id,
                "priority": ticket.priority,
                "care_effect": ticket.care_effect,
                "scope": ticket.scope,
            },
        )
    return ticket


def hand_to_vendor(actor: User, ticket_id: int, version: int | None, vendor_id: int) -> Ticket:
    """Give the ticket to a vendor and wait on it. A ticket flagged as holding patient
    information goes only to a vendor with an active Business Associate Agreement."""
    require_writer(actor, "hand a ticket to a vendor")
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise InvalidInput(f"no vendor has id {vendor_id}", field="vendor")
    with transaction.atomic():
        with changing(actor, ticket_id, version, "vendor") as ticket:
            if ticket.phi_flagged and not has_active_baa(vendor):
                raise Conflict(
                    f"{ticket.number} may contain patient information and {vendor.name} has no "
                    "active Business Associate Agreement; record a signed BAA first, or remove "
                    "the patient details from the ticket",
                    field="vendor",
                )
            before = {"vendor": ticket.vendor_id}
            ticket.vendor = vendor
            audit.record(
                "ticket.vendor",
                actor=actor,
                obj=ticket,
                summary=f"{ticket.number} handed to {vendor.name}",
                before=before,
                after={"vendor": vendor.pk},
            )
        if ticket.status != Status.WAITING_VENDOR:
            ticket = lifecycle.change_status(actor, ticket.pk, Status.WAITING_VENDOR)
    return ticket
