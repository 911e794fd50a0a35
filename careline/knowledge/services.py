"""Every change to articles goes through these functions, each in one transaction with its
version row and audit event: views, the API, the importer and the demo loader call them."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, fields
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from careline.core import audit
from careline.core.errors import InvalidInput, NotFound
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, has_perm, require
from careline.core.services import clean_name
from careline.knowledge import semantic
from careline.knowledge.models import (
    Article,
    ArticleShown,
    ArticleStatus,
    ArticleVersion,
    Audience,
    Deflection,
    Feedback,
)
from careline.knowledge.search import plain_text

log = logging.getLogger("careline.knowledge")

MAX_BODY = 100_000
MAX_SUMMARY = 500
MAX_TAGS = 500
MAX_COMMENT = 2000
# "Also asked as": how many phrases an article may list, and how long each may be.
MAX_ASKED_AS = 30
MAX_PHRASE = 200
AUDIT_FIELDS = [
    "title",
    "summary",
    "audience",
    "status",
    "tags",
    "asked_as",
    "review_by",
    "version",
]


@dataclass
class ArticleDraft:
    """What a writer sends; None leaves a field as it is (on update) or at its default."""

    title: str | None = None
    body: str | None = None
    summary: str | None = None
    status: str | None = None
    audience: str | None = None
    tags: list[str] | None = None
    services: list[str] | None = None
    owner: str | None = None
    review_by: dt.date | None = None
    # How staff describe the problem, one phrase each (a semicolon also separates).
    asked_as: list[str] | None = None


def _choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise InvalidInput(f"must be one of {allowed} (got {value[:40]!r})", field=field)
    return value


def _clean_tags(tags: list[str]) -> str:
    cleaned = list(dict.fromkeys(" ".join(t.lower().replace(",", " ").split()) for t in tags))
    text = ", ".join(t for t in cleaned if t)
    if len(text) > MAX_TAGS:
        raise InvalidInput(f"must be at most {MAX_TAGS} characters together", field="tags")
    return text


def clean_asked_as(phrases: list[str]) -> str:
    """The phrases one a line, spaces tidied and repeats dropped; ';' also separates."""
    cleaned: dict[str, str] = {}
    for item in phrases:
        for part in re.split(r"[;\r\n]", item):
            phrase = " ".join(part.split())
            if "\x00" in phrase:
                raise InvalidInput("must not contain NUL characters", field="asked_as")
            if len(phrase) > MAX_PHRASE:
                raise InvalidInput(
                    f"each phrase must be at most {MAX_PHRASE} characters (got {len(phrase)})",
                    field="asked_as",
                )
            if phrase:
                cleaned.setdefault(phrase.lower(), phrase)
    if len(cleaned) > MAX_ASKED_AS:
        raise InvalidInput(
            f"must list at most {MAX_ASKED_AS} phrases (got {len(cleaned)})", field="asked_as"
        )
    return "\n".join(cleaned.values())


def _services(codes: list[str]) -> list[ClinicalService]:
    found = {s.code: s for s in ClinicalService.objects.filter(code__in=codes)}
    for code in codes:
        if code not in found:
            raise NotFound(f"no clinical service has code {code[:40]!r}", field="services")
    return [found[c] for c in dict.fromkeys(codes)]


def _owner(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"no active user is called {username[:40]!r}", field="owner")
    return user


def _apply(article: Article, draft: ArticleDraft) -> tuple[list[str], list[ClinicalService] | None]:
    """Copy the draft's given fields onto `article`; the names of those that changed."""
    changed: list[str] = []

    def put(name: str, value: Any) -> None:
        if getattr(article, name) != value:
            setattr(article, name, value)
            changed.append(name)

    if draft.title is not None:
        put("title", clean_name(draft.title, "title"))
    if draft.body is not None:
        if not draft.body.strip():
            raise InvalidInput("must not be empty", field="body")
        if len(draft.body) > MAX_BODY:
            raise InvalidInput(
                f"must be at most {MAX_BODY} characters (got {len(draft.body)})", field="body"
            )
        put("body", draft.body.strip() + "\n")
    if draft.summary is not None:
        summary = " ".join(draft.summary.split())
        if len(summary) > MAX_SUMMARY:
            raise InvalidInput(f"must be at most {MAX_SUMMARY} characters", field="summary")
        put("summary", summary)
    if draft.status is not None:
        put("status", _choice(draft.status, ArticleStatus, "status"))
    if draft.audience is not None:
        put("audience", _choice(draft.audience, Audience, "audience"))
    if draft.tags is not None:
        put("tags", _clean_tags(draft.tags))
    if draft.asked_as is not None:
        put("asked_as", clean_asked_as(draft.asked_as))
    if draft.owner is not None:
        owner = _owner(draft.owner) if draft.owner else None
        if article.owner_id != (owner.pk if owner else None):
            article.owner = owner
            changed.append("owner")
    if draft.review_by is not None:
        put("review_by", draft.review_by)
    services = _services(draft.services) if draft.services is not None else None
    if services is not None:
        before = set(article.services.values_list("code", flat=True)) if article.pk else set()
        if before != {s.code for s in services}:
            changed.append("services")
    return changed, services


def embedding_text(article: Article) -> str:
    """What the sentence model reads: the title and summary first (it stops after ~250
    word pieces), then the tags and the start of the body."""
    return ". ".join(
        part
        for part in (article.title, article.summary, article.tags, plain_text(article.body))
        if part
    )


def _embed(article: Article, now: bool = True) -> None:
    if not (now and semantic.active()):
        article.embedding = b""
        article.embedding_model = ""
        return
    article.embedding = semantic.encode_articles(
        [(article.title, embedding_text(article))], [article.asked_as_list]
    )[0]
    article.embedding_model = semantic.MODEL_NAME


def _version(article: Article, actor: User | None, changed: list[str]) -> None:
    ArticleVersion.objects.create(
        article=article,
        number=article.version,
        title=article.title,
        summary=article.summary,
        body=article.body,
        audience=article.audience,
        status=article.status,
        tags=article.tags,
        asked_as=article.asked_as,
        services=sorted(article.services.values_list("code", flat=True)),
        review_by=article.review_by,
        changed=changed,
        changed_by=actor,
        changed_by_name=actor.username if actor else "system",
        at=article.updated_at,
    )


def create_article(actor: User | None, draft: ArticleDraft, *, embed: bool = True) -> Article:
    """A new article. With embed=False its embedding is left for embed_missing(), which
    encodes many articles in one batch (the importer does this)."""
    if actor is not None:
        require(actor, Perm.KB_EDIT)
    if draft.title is None:
        raise InvalidInput("is required", field="title")
    if draft.body is None:
        raise InvalidInput("is required", field="body")
    article = Article(owner=actor)
    changed, services = _apply(article, draft)
    _embed(article, embed)
    with transaction.atomic():
        article.save(force_insert=True)
        if services:
            article.services.set(services)
        _version(article, actor, changed)
        audit.record(
            "article.create",
            actor=actor,
            obj=article,
            summary=f"Article {article.title!r} created ({article.status})",
            after=audit.snapshot(article, AUDIT_FIELDS),
        )
    return article


def update_article(
    actor: User | None, article_id: int, draft: ArticleDraft, *, embed: bool = True
) -> Article:
    if actor is not None:
        require(actor, Perm.KB_EDIT)
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(pk=article_id).first()
        if article is None:
            raise NotFound(f"no article has id {article_id}", field="id")
        before = audit.snapshot(article, AUDIT_FIELDS)
        changed, services = _apply(article, draft)
        if not changed:
            return article
        article.version += 1
        article.updated_at = timezone.now()
        if {"title", "summary", "tags", "body", "asked_as"} & set(changed) or not article.embedding:
            _embed(article, embed)
        article.save()
        if services is not None:
            article.services.set(services)
        _version(article, actor, changed)
        audit.record(
            "article.update",
            actor=actor,
            obj=article,
            summary=f"Article {article.title!r} changed: {', '.join(changed)}",
            before=before,
            after=audit.snapshot(article, AUDIT_FIELDS),
        )
    return article


def readable(user: User) -> QuerySet[Article]:
    """The articles `user` may open: writers see drafts too; IT-only ones need the desk."""
    qs = Article.objects.all()
    if not has_perm(user, Perm.KB_EDIT):
        qs = qs.filter(status=ArticleStatus.PUBLISHED)
    if not has_perm(user, Perm.DESK_VIEW):
        qs = qs.filter(audience=Audience.EVERYONE)
    return qs


def get_readable(user: User, article_id: int) -> Article:
    article = readable(user).filter(pk=article_id).first()
    if article is None:
        # The same answer for "missing" and "not yours to read": ids are not a side channel.
        raise NotFound(f"no article has id {article_id}", field="id")
    return article


def add_feedback(user: User, article_id: int, *, solved: bool, comment: str = "") -> Feedback:
    article = get_readable(user, article_id)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"must be at most {MAX_COMMENT} characters", field="comment")
    with transaction.atomic():
        feedback = Feedback.objects.create(
            article=article, user=user, solved=solved, comment=comment
        )
        audit.record(
            "article.feedback",
            actor=user,
            obj=article,
            summary=f"Feedback on {article.title!r}: {'solved' if solved else 'not solved'}",
        )
    return feedback


def deflect(user: User, article_id: int) -> Deflection:
    """The requester came from the report form and the article solved it: no ticket."""
    article = get_readable(user, article_id)
    with transaction.atomic():
        Feedback.objects.create(article=article, user=user, solved=True)
        deflection = Deflection.objects.create(article=article, user=user)
        audit.record(
            "article.deflection",
            actor=user,
            obj=article,
            summary=f"{article.title!r} solved a problem without a ticket",
        )
    return deflection


def record_shown(ticket_id: int, article_ids: list[int]) -> None:
    """Remember which suggested articles the requester had seen before filing the ticket."""
    ids = set(
        Article.objects.filter(pk__in=article_ids[:20], status=ArticleStatus.PUBLISHED).values_list(
            "pk", flat=True
        )
    )
    ArticleShown.objects.bulk_create(
        [ArticleShown(ticket_id=ticket_id, article_id=pk) for pk in sorted(ids)],
        ignore_conflicts=True,
    )


def stale(qs: QuerySet[Article] | None = None) -> QuerySet[Article]:
    """Published articles whose review date has passed."""
    qs = Article.objects.all() if qs is None else qs
    return qs.filter(Q(status=ArticleStatus.PUBLISHED), review_by__lt=timezone.localdate())


def embed_missing(batch: int = 64) -> int:
    """Compute the embeddings articles lack (saved before the extra was installed)."""
    if not semantic.active():
        return 0
    done = 0
    while True:
        rows = list(Article.objects.filter(embedding_model="").order_by("id")[:batch])
        if not rows:
            return done
        vectors = semantic.encode_articles(
            [(a.title, embedding_text(a)) for a in rows], [a.asked_as_list for a in rows]
        )
        for article, vector in zip(rows, vectors, strict=True):
            # No version or audit row: the article's content did not change.
            Article.objects.filter(pk=article.pk).update(
                embedding=vector, embedding_model=semantic.MODEL_NAME
            )
        done += len(rows)


DRAFT_FIELDS = [f.name for f in fields(ArticleDraft)]
