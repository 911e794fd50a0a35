"""Ticket search's GIN index on PostgreSQL is kept up to date as tickets are written.

By default PostgreSQL puts new entries of a GIN index in a pending list that every search
reads from end to end until a vacuum merges it, and autovacuum of a 100,000-ticket table
waits for some 20,000 new rows: a busy desk's searches slowed as the list grew (2,400 new
tickets left 153 pages of it; the index scan went from 1.4 to 3.8 ms). Measured on the
service-desk benchmark, writing the entries at once costs creating a ticket nothing visible
(258 tickets/s without the list, 256 with it, one run each at concurrency 8).
"""

from django.db import migrations

from careline.core.vendor_sql import run_vendor_sql


class Migration(migrations.Migration):
    dependencies = [("servicedesk", "0004_ticket_config_item_vendor")]

    operations = [
        run_vendor_sql(
            {
                "postgresql": [
                    "ALTER INDEX servicedesk_ticket_search SET (fastupdate = off)",
                    # Entries already pending are merged now rather than at the next vacuum.
                    "SELECT gin_clean_pending_list('servicedesk_ticket_search'::regclass)",
                ]
            },
            {"postgresql": ["ALTER INDEX servicedesk_ticket_search RESET (fastupdate)"]},
        ),
    ]
