from django.urls import URLPattern, path

from careline.servicedesk.views import console, portal, ticket

app_name = "servicedesk"

urlpatterns: list[URLPattern] = [
    # The portal
    path("report/", portal.report, name="report"),
    path("report/known/", portal.known_incidents, name="known-incidents"),
    path("report/known/<int:ticket_id>/affected/", portal.me_too, name="me-too"),
    path("report/check/", portal.check, name="report-check"),
    path("my/", portal.my_tickets, name="my-tickets"),
    # One ticket, and what its forms post to
    path("tickets/<int:ticket_id>/", ticket.ticket_page, name="ticket"),
    path("tickets/<int:ticket_id>/comment/", ticket.comment, name="ticket-comment"),
    path("tickets/<int:ticket_id>/status/", ticket.change_status, name="ticket-status"),
    path("tickets/<int:ticket_id>/resolve/", ticket.resolve, name="ticket-resolve"),
    path("tickets/<int:ticket_id>/confirm/", ticket.confirm, name="ticket-confirm"),
    path("tickets/<int:ticket_id>/assign/", ticket.assign, name="ticket-assign"),
    path("tickets/<int:ticket_id>/priority/", ticket.override_priority, name="ticket-priority"),
    path("tickets/<int:ticket_id>/item/", ticket.config_item, name="ticket-item"),
    path("tickets/<int:ticket_id>/vendor/", ticket.hand_to_vendor, name="ticket-vendor"),
    path("tickets/<int:ticket_id>/merge/", ticket.merge, name="ticket-merge"),
    path("tickets/<int:ticket_id>/link/", ticket.link, name="ticket-link"),
    path("tickets/<int:ticket_id>/major/", ticket.promote_major, name="ticket-major"),
    path("tickets/<int:ticket_id>/security/", ticket.security_assessment, name="ticket-security"),
    # The agent console
    path("desk/", console.console, name="console"),
    path("desk/table/", console.console_table, name="console-table"),
    path("desk/bulk/", console.bulk, name="console-bulk"),
    path("desk/views/", console.save_view, name="saved-view-save"),
    path("desk/views/<int:view_id>/delete/", console.delete_view, name="saved-view-delete"),
]
