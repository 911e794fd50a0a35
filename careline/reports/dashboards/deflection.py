"""Self-service deflection: how often a self-help article solved the problem instead of a
ticket. Rate = deflections / (deflections + tickets filed through the portal), per month.

A deflection is someone answering "this solved it" on an article reached from the report
form (knowledge's Deflection); a portal ticket is one filed on the web (via=web), and the
ones filed after the portal had suggested an article are counted apart (ArticleShown).
At a site: deflections by people of its departments, tickets of its departments.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth

from careline.core.models import User
from careline.knowledge.models import ArticleShown, Deflection
from careline.reports.dashboards.filters import Filters
from careline.reports.dashboards.tables import Chart, Column, Dashboard, Table, percent
from careline.reports.dashboards.tickets import opened
from careline.servicedesk.choices import Via

TOP_ARTICLES = 20


def deflection(user: User, filters: Filters) -> Dashboard:
    deflections = Deflection.objects.filter(at__gte=filters.start, at__lt=filters.end)
    if filters.site is not None:
        deflections = deflections.filter(user__department__site_id=filters.site.pk)
    by_month_deflected = {
        r["month"]: r["n"]
        for r in deflections.annotate(month=TruncMonth("at", tzinfo=filters.zone))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    shown = ArticleShown.objects.filter(ticket_id=OuterRef("pk"))
    by_month_tickets = {
        r["month"]: r
        for r in opened(user, filters)
        .filter(via=Via.WEB)
        .annotate(month=TruncMonth("created_at", tzinfo=filters.zone))
        .values("month")
        .annotate(n=Count("id"), after_article=Count("id", filter=Q(Exists(shown))))
        .order_by()
    }
    rows = []
    for month in sorted(set(by_month_deflected) | set(by_month_tickets)):
        deflected = by_month_deflected.get(month, 0)
        filed = by_month_tickets.get(month, {}).get("n", 0)
        after = by_month_tickets.get(month, {}).get("after_article", 0)
        rows.append(
            [
                month.strftime("%Y-%m"),
                deflected,
                filed,
                after,
                percent(deflected, deflected + filed),
            ]
        )
    total_deflected = sum(r[1] for r in rows)
    total_filed = sum(r[2] for r in rows)
    monthly = Table(
        "by-month",
        "By month",
        [
            Column("month", "Month"),
            Column("deflections", "Solved by an article"),
            Column("portal_tickets", "Portal tickets"),
            Column("after_article", "Tickets filed after an article"),
            Column("deflection_percent", "Deflection rate", "%"),
        ],
        rows,
        charts=[
            Chart(
                "Solved by an article and tickets filed",
                "month",
                ("deflections", "portal_tickets"),
                kind="stacked",
            ),
            Chart(
                "Deflection rate (%)", "month", ("deflection_percent",), kind="line", max_value=100
            ),
        ],
    )
    top = list(
        deflections.values("article_id", "article__title")
        .annotate(n=Count("id"))
        .order_by("-n", "article__title")[:TOP_ARTICLES]
    )
    articles = Table(
        "articles",
        f"Articles that solved the most problems (top {TOP_ARTICLES})",
        [Column("article", "Article"), Column("deflections", "Problems solved")],
        [[r["article__title"], r["n"]] for r in top],
    )
    rate = percent(total_deflected, total_deflected + total_filed)
    summary = [
        f"Deflection rate: {'no data' if rate is None else f'{rate} %'}",
        f"{total_deflected} problems solved by an article",
        f"{total_filed} tickets filed through the portal",
    ]
    return Dashboard(
        "deflection",
        "Self-service deflection",
        "How often a self-help article solved a problem before a ticket was needed: "
        "deflections against deflections plus tickets filed through the portal.",
        filters,
        [monthly, articles],
        summary,
    )
