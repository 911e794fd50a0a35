"""A ticket's failed item and vendor: the service desk's side of the CMDB (the service desk
uses the CMDB; the CMDB knows nothing of tickets)."""

from django.http import HttpRequest
from ninja import Field, Router

from careline.core.callers import signed_in
from careline.core.schemas import InSchema
from careline.servicedesk.models import Ticket
from careline.servicedesk.schemas import TicketOut
from careline.servicedesk.services import impact, tickets

router = Router(tags=["tickets"])


class TicketCmdbOut(TicketOut):
    config_item: int | None = Field(None, alias="config_item_id", description="the failed item")
    vendor: int | None = Field(None, alias="vendor_id", description="the vendor it waits on")


class ConfigItemIn(InSchema):
    item: int | None = Field(description="id of the failed configuration item; null clears it")
    version: int | None = Field(None, description="the ticket version you read")


class VendorHandOffIn(InSchema):
    vendor: int = Field(description="id of the vendor the ticket now waits on")
    version: int | None = Field(None, description="the ticket version you read")


@router.post(
    "/tickets/{ticket_id}/config-item",
    response=TicketCmdbOut,
    summary="Name the failed item; the priority follows its clinical impact",
)
def set_config_item(request: HttpRequest, ticket_id: int, payload: ConfigItemIn) -> Ticket:
    user = signed_in(request)
    impact.set_config_item(user, ticket_id, payload.version, payload.item)
    return tickets.get_visible(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/vendor",
    response=TicketCmdbOut,
    summary="Hand the ticket to a vendor (refused for PHI without an active BAA)",
)
def hand_to_vendor(request: HttpRequest, ticket_id: int, payload: VendorHandOffIn) -> Ticket:
    user = signed_in(request)
    impact.hand_to_vendor(user, ticket_id, payload.version, payload.vendor)
    return tickets.get_visible(user, ticket_id)
