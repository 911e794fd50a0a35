"""Articles, their history and feedback, and what self-service achieved.

Search indexes live beside the article table (migration 0002): an FTS5 table kept by
triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from careline.core.models import ClinicalService


class Audience(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    IT = "it", "IT only"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class Article(models.Model):
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    # Markdown as written; rendered through careline.core.markdown (nh3) on display.
    body = models.TextField()
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)
    services = models.ManyToManyField(ClinicalService, blank=True, related_name="articles")
    # Lower-case words separated by commas; indexed with the text.
    tags = models.CharField(max_length=500, blank=True)
    # How staff describe the problem in their own words, one phrase a line ("cart dies
    # before the end of the round"). Each is embedded with the article, so queries worded
    # like them find it; written for what people say generally, not one person's search.
    asked_as = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kb_articles",
    )
    # Past this date the article is flagged as stale until someone reviews it.
    review_by = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The sentence embedding of the article (float32, little-endian; semantic.py says what it
    # is made of), written when the article is saved with semantic search available; empty
    # otherwise.
    embedding = models.BinaryField(blank=True, default=b"")
    embedding_model = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["status", "audience"], name="kb_article_status"),
            # Covers the aggregate each search runs to see whether its cached index is
            # current (careline/knowledge/search.py), so it never reads article rows.
            models.Index(
                fields=["status", "updated_at", "embedding_model"], name="kb_article_changes"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (part.strip() for part in self.tags.split(",")) if t]

    @property
    def asked_as_list(self) -> list[str]:
        return [p for p in (line.strip() for line in self.asked_as.splitlines()) if p]

    def is_stale(self, today: dt.date | None = None) -> bool:
        if self.review_by is None:
            return False
        return self.review_by < (today or timezone.localdate())


class ArticleVersion(models.Model):
    """The article as it stood after each change: who made it, when, and which fields moved."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    body = models.TextField()
    audience = models.CharField(max_length=16, choices=Audience.choices)
    status = models.CharField(max_length=16, choices=ArticleStatus.choices)
    tags = models.CharField(max_length=500, blank=True)
    asked_as = models.TextField(blank=True, default="")
    services = models.JSONField(default=list)  # service codes
    review_by = models.DateField(null=True, blank=True)
    changed = models.JSONField(default=list)  # names of the fields this version changed
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Copied so the history reads the same after the account is gone.
    changed_by_name = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class Feedback(models.Model):
    """ "Did this solve it?" with an optional comment."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    solved = models.BooleanField()
    comment = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.article_id} solved={self.solved}"


class Deflection(models.Model):
    """Someone reached an article from the report form and it solved the problem: no ticket."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.article_id} at {self.at:%Y-%m-%d %H:%M}"


class ArticleShown(models.Model):
    """An article the portal suggested to the requester before they filed the ticket."""

    ticket = models.ForeignKey(
        "servicedesk.Ticket", on_delete=models.CASCADE, related_name="kb_articles_shown"
    )
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="shown_on")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "article"], name="kb_shown_unique")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.article_id}"
