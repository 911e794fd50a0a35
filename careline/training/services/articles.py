"""The knowledge-base articles that go with a session: published, on its clinical service, and
readable by the person looking (a requester sees only those written for everyone)."""

from __future__ import annotations

from careline.core.models import User
from careline.knowledge.models import Article, ArticleStatus
from careline.knowledge.services import readable
from careline.training.models import TrainingSession

MAX_ARTICLES = 50


def for_session(viewer: User, session: TrainingSession) -> list[Article]:
    return list(
        readable(viewer)
        .filter(status=ArticleStatus.PUBLISHED, services=session.service_id)
        .only("id", "title", "summary")
        .order_by("title", "id")[:MAX_ARTICLES]
    )
