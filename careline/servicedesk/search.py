"""Ranked full-text search over tickets: SQLite FTS5 or PostgreSQL full text, one interface.

Both rank the title above the description and stem words ("scanners" finds "scanner").
The index lives beside the table (migration 0003): an FTS5 table kept by triggers on
SQLite, a generated tsvector column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet

from careline.servicedesk.models import Ticket

NUMBER = re.compile(r"^(INC|REQ|SEC)-?\d{1,9}$", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


def _terms(text: str) -> list[str]:
    return _WORD.findall(text.lower())[:MAX_TERMS]


def ticket_number(text: str) -> str | None:
    """ "INC-000123" for what people type ("inc123", "INC-123"), or None if it is not one."""
    text = text.strip()
    if not NUMBER.match(text):
        return None
    digits = int(re.sub(r"\D", "", text))
    return f"{text[:3].upper()}-{digits:06d}"


def search(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """`tickets` narrowed to those matching `text`, best match first."""
    text = text.strip()
    number = ticket_number(text)
    if number is not None:
        return tickets.filter(number=number)
    terms = _terms(text)
    if not terms:
        return tickets.none()
    if connection.vendor == "postgresql":
        query = " & ".join(f"{t}:*" if i == len(terms) - 1 else t for i, t in enumerate(terms))
        return tickets.extra(
            select={"rank": "ts_rank_cd(servicedesk_ticket.search, to_tsquery('english', %s))"},
            select_params=[query],
            where=["servicedesk_ticket.search @@ to_tsquery('english', %s)"],
            params=[query],
            order_by=["-rank", "-created_at"],
        )
    # FTS5: each term quoted (so no user text is read as query syntax), the last one a prefix.
    query = " ".join(f'"{t}"' + ("*" if i == len(terms) - 1 else "") for i, t in enumerate(terms))
    return tickets.extra(
        select={"rank": "bm25(servicedesk_ticket_fts, 10.0, 1.0)"},
        tables=["servicedesk_ticket_fts"],
        where=[
            "servicedesk_ticket_fts.rowid = servicedesk_ticket.id",
            "servicedesk_ticket_fts MATCH %s",
        ],
        params=[query],
        order_by=["rank", "-created_at"],
    )
