"""The knowledge base API: search, articles with their history, feedback."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from careline.core.callers import signed_in
from careline.core.errors import InvalidInput
from careline.core.markdown import render
from careline.core.permissions import Perm, has_perm
from careline.core.schemas import InSchema
from careline.knowledge import search as kb_search
from careline.knowledge import semantic, services
from careline.knowledge.models import Article, ArticleStatus, Audience

router = Router(tags=["knowledge"])

MAX_LIMIT = 50


class SearchParams(InSchema):
    # Longer text is accepted and cut to the first 500 characters, not refused.
    q: str = Field("", description="what the problem is, in any words")
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    service: str | None = Field(None, max_length=32, description="a clinical service code")


class HitOut(Schema):
    id: int
    title: str
    score: float
    snippet: str = Field(description="HTML-escaped text with the query's words in <mark>")


class TicketHitOut(Schema):
    id: int
    number: str
    title: str
    resolution: str
    snippet: str


class SearchOut(Schema):
    results: list[HitOut]
    # Only for the desk: resolved tickets like the query, with their resolution.
    resolved_tickets: list[TicketHitOut] = []
    mode: str = Field(description="hybrid, or lexical when semantic search is unavailable")


@router.get("/kb/search", response=SearchOut, summary="Search published articles")
def search_articles(request: HttpRequest, params: Query[SearchParams]) -> dict[str, object]:
    user = signed_in(request)
    hits = kb_search.search(params.q, user=user, limit=params.limit, service=params.service)
    return {
        "results": hits,
        "resolved_tickets": kb_search.resolved_tickets(params.q, user=user),
        "mode": "hybrid" if semantic.active() else "lexical",
    }


ASKED_AS_HELP = (
    "how staff describe the problem in their own words, one phrase each (at most 200 "
    "characters); search reads them beside the title and text"
)


class ArticleIn(InSchema):
    title: str = Field(max_length=200)
    body: str
    status: ArticleStatus = ArticleStatus.DRAFT
    summary: str = ""
    audience: Audience = Audience.EVERYONE
    tags: list[str] = Field(default_factory=list, max_length=30)
    services: list[str] = Field(default_factory=list, max_length=30)
    owner: str | None = Field(None, max_length=150, description="a username")
    review_by: dt.date | None = None
    asked_as: list[str] = Field(default_factory=list, max_length=30, description=ASKED_AS_HELP)


class ArticlePatch(InSchema):
    title: str | None = Field(None, max_length=200)
    body: str | None = None
    status: ArticleStatus | None = None
    summary: str | None = None
    audience: Audience | None = None
    tags: list[str] | None = Field(None, max_length=30)
    services: list[str] | None = Field(None, max_length=30)
    owner: str | None = Field(None, max_length=150)
    review_by: dt.date | None = None
    asked_as: list[str] | None = Field(None, max_length=30, description=ASKED_AS_HELP)


class VersionOut(Schema):
    number: int
    title: str
    status: str
    changed: list[str]
    changed_by: str
    at: dt.datetime


class ArticleOut(Schema):
    id: int
    title: str
    summary: str
    body: str
    body_html: str
    status: str
    audience: str
    tags: list[str]
    asked_as: list[str]
    services: list[str]
    owner: str | None
    review_by: dt.date | None
    stale: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    helpful: int
    not_helpful: int
    history: list[VersionOut] | None = Field(None, description="for writers only")


def article_out(article: Article, *, with_history: bool) -> dict[str, object]:
    feedback = list(article.feedback.values_list("solved", flat=True))
    out: dict[str, object] = {
        "id": article.pk,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "body_html": render(article.body),
        "status": article.status,
        "audience": article.audience,
        "tags": article.tag_list,
        "asked_as": article.asked_as_list,
        "services": sorted(article.services.values_list("code", flat=True)),
        "owner": article.owner.username if article.owner else None,
        "review_by": article.review_by,
        "stale": article.is_stale(),
        "version": article.version,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "helpful": sum(feedback),
        "not_helpful": len(feedback) - sum(feedback),
        "history": None,
    }
    if with_history:
        out["history"] = [
            {
                "number": v.number,
                "title": v.title,
                "status": v.status,
                "changed": v.changed,
                "changed_by": v.changed_by_name,
                "at": v.at,
            }
            for v in article.versions.order_by("-number")
        ]
    return out


@router.post("/kb/articles", response={201: ArticleOut}, summary="Write an article")
def create_article(request: HttpRequest, payload: ArticleIn) -> Status[dict[str, object]]:
    user = signed_in(request)
    article = services.create_article(user, services.ArticleDraft(**payload.dict()))
    return Status(201, article_out(article, with_history=True))


@router.get("/kb/articles/{article_id}", response=ArticleOut, summary="One article")
def get_article(request: HttpRequest, article_id: int) -> dict[str, object]:
    user = signed_in(request)
    article = services.get_readable(user, article_id)
    return article_out(article, with_history=has_perm(user, Perm.KB_EDIT))


@router.patch("/kb/articles/{article_id}", response=ArticleOut, summary="Change an article")
def patch_article(
    request: HttpRequest, article_id: int, payload: ArticlePatch
) -> dict[str, object]:
    user = signed_in(request)
    changes = payload.dict(exclude_unset=True)
    if not changes:
        raise InvalidInput("name at least one field to change", field="body")
    if any(v is None for k, v in changes.items() if k not in ("owner", "review_by")):
        field = next(k for k, v in changes.items() if v is None)
        raise InvalidInput("must not be null", field=field)
    article = services.update_article(user, article_id, services.ArticleDraft(**changes))
    return article_out(article, with_history=True)


class FeedbackIn(InSchema):
    solved: bool
    comment: str = Field("", max_length=2000)


class FeedbackOut(Schema):
    id: int
    solved: bool
    comment: str
    at: dt.datetime


@router.post(
    "/kb/articles/{article_id}/feedback",
    response={201: FeedbackOut},
    summary="Did this article solve it?",
)
def feedback(request: HttpRequest, article_id: int, payload: FeedbackIn) -> Status[object]:
    user = signed_in(request)
    saved = services.add_feedback(user, article_id, solved=payload.solved, comment=payload.comment)
    return Status(201, saved)
