"""Ranked full-text search over tickets: SQLite FTS5 or PostgreSQL full text, one interface.

Both rank the title above the description and stem words ("scanners" finds "scanner").
The index lives beside the table (migration 0003): an FTS5 table kept by triggers on
SQLite, a generated tsvector column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# Ranking costs the database work for every ticket that matches: for a broad search
# ("scanner" in thirty thousand tickets) more than the rest of the request. So the newest
# RANK_WINDOW matches (after every other filter) are the ones ranked, best first; a search
# that broad is narrowed by another word or a filter, and the answer says it was cut.
RANK_WINDOW = 500


@dataclass(frozen=True)
class _Match:
    tickets: QuerySet[Ticket]  # narrowed to the matches, in no particular order
    newest_first: QuerySet[Ticket]
    rowid: str  # the column the window bounds
    rank: str  # SQL ranking expression taking the query as its one parameter; {doc} is
    # where the indexed document is read (PostgreSQL: the ticket's tsvector)
    query: str
    higher_is_better: bool  # ts_rank_cd grows with relevance; bm25 falls


def _match(tickets: QuerySet[Ticket], terms: list[str]) -> _Match:
    if connection.vendor == "postgresql":
        query = " & ".join(f"{t}:*" if i == len(terms) - 1 else t for i, t in enumerate(terms))
        matching = tickets.extra(
            where=["servicedesk_ticket.search @@ to_tsquery('english', %s)"], params=[query]
        )
        return _Match(
            tickets=matching,
            newest_first=matching.order_by("-id"),
            rowid="servicedesk_ticket.id",
            rank="ts_rank_cd({doc}, to_tsquery('english', %s))",
            query=query,
            higher_is_better=True,
        )
    # FTS5: each term quoted (so no user text is read as query syntax), the last a prefix.
    query = " ".join(f'"{t}"' + ("*" if i == len(terms) - 1 else "") for i, t in enumerate(terms))
    matching = tickets.extra(
        tables=["servicedesk_ticket_fts"],
        where=[
            "servicedesk_ticket_fts.rowid = servicedesk_ticket.id",
            "servicedesk_ticket_fts MATCH %s",
        ],
        params=[query],
    )
    return _Match(
        tickets=matching,
        # Walking the index backwards by rowid needs no sort, unlike ordering by the id.
        newest_first=matching.extra(order_by=["-servicedesk_ticket_fts.rowid"]),
        rowid="servicedesk_ticket_fts.rowid",
        rank="bm25(servicedesk_ticket_fts, 1.0, 10.0, 1.0)",  # number, title, description
        query=query,
        higher_is_better=False,
    )


def search(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """`tickets` narrowed to those matching `text`, best match first (among the newest
    RANK_WINDOW matches)."""
    text = text.strip()
    number = ticket_number(text)
    if number is not None:
        return tickets.filter(number=number)
    terms = _terms(text)
    if not terms:
        return tickets.none()
    match = _match(tickets, terms)
    matching = match.tickets
    oldest = list(match.newest_first.values_list("id", flat=True)[RANK_WINDOW - 1 : RANK_WINDOW])
    if oldest:
        # The SQL fragments are this module's own; user text only ever travels as a parameter.
        matching = matching.extra(where=[f"{match.rowid} >= %s"], params=[oldest[0]])  # noqa: S610
    return matching.extra(  # noqa: S610
        select={"rank": match.rank.format(doc="servicedesk_ticket.search")},
        select_params=[match.query],
        order_by=["-rank" if match.higher_is_better else "rank", "-id"],
    )


@dataclass(frozen=True)
class Ranked:
    ids: list[int]  # best first
    window_full: bool  # more matched than RANK_WINDOW: the newest of them were ranked


def ranked_ids(tickets: QuerySet[Ticket], text: str) -> Ranked:
    """The ids of `tickets` matching `text`, best first, in one query: the newest
    RANK_WINDOW matches are read with their rank and sorted here."""
    text = text.strip()
    number = ticket_number(text)
    if number is not None:
        return Ranked(list(tickets.filter(number=number).values_list("id", flat=True)), False)
    terms = _terms(text)
    if not terms:
        return Ranked([], False)
    match = _match(tickets, terms)
    if connection.vendor == "postgresql":
        rows = _ranked_window_postgresql(match)
    else:
        ranked = match.newest_first.extra(select={"rank": match.rank}, select_params=[match.query])  # noqa: S610
        rows = list(ranked.values_list("id", "rank")[: RANK_WINDOW + 1])
    rows.sort(key=lambda row: -row[0])  # newest first
    full = len(rows) > RANK_WINDOW
    rows = rows[:RANK_WINDOW]
    sign = -1 if match.higher_is_better else 1
    rows.sort(key=lambda row: (sign * row[1], -row[0]))  # best first; newer first on a tie
    return Ranked([row[0] for row in rows], full)


def _ranked_window_postgresql(match: _Match) -> list[tuple[int, float]]:
    """(id, rank) of the newest RANK_WINDOW + 1 matches, in one statement.

    Ranked in the select of the window's own query, PostgreSQL would rank every match before
    sorting and keeping the newest; carried through that sort, every match's tsvector would
    be read and copied. So the window is the ids alone, and only its rows are read again
    (by primary key) to be ranked.
    """
    window = match.newest_first.values_list("id")[: RANK_WINDOW + 1]
    sql, params = window.query.sql_with_params()
    rank = match.rank.format(doc="ranked.search")
    with connection.cursor() as cursor:
        # The SQL is the ORM's and this module's own; user text only travels as a parameter.
        cursor.execute(
            f"SELECT ranked.id, {rank} FROM servicedesk_ticket ranked WHERE ranked.id IN ({sql})",  # noqa: S608
            [match.query, *params],
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]
