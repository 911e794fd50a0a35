"""Articles as Markdown files with front matter, for `careline kb import DIR` and `export`.

    ---
    title: Computer on wheels battery runs flat
    summary: Keep the cart charged through a shift.
    audience: everyone            (or: it)
    status: published             (draft, published, retired)
    tags: battery, cart, cow
    services: WIFI, EHR           (clinical service codes)
    review_by: 2027-06-30
    asked_as: cart dies before the round ends; cart will not charge
    ---
    The article in Markdown.

Front matter is one `key: value` per line. `asked_as` lists the ways staff describe the
problem, separated by semicolons; search reads them beside the title and text. An import is all-or-nothing: every file is read
and checked first, each problem reported with its file name, and nothing is written unless
all of them are good. An article whose title already exists is updated (a new version only
if something changed), so importing the same directory twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import User
from careline.knowledge import services
from careline.knowledge.models import Article

KEYS = {
    "title",
    "summary",
    "audience",
    "status",
    "tags",
    "services",
    "review_by",
    "owner",
    "asked_as",
}
MAX_FILE_BYTES = 200_000
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


class ImportFailed(CareLineError):
    status = 422

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"nothing imported; {len(errors)} file(s) have problems", field="files")
        self.errors = errors


@dataclass
class Result:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def parse(text: str) -> services.ArticleDraft:
    """An article draft from one file's text; InvalidInput names what is wrong."""
    match = _FRONT.match(text.lstrip("\ufeff"))
    if match is None:
        raise InvalidInput("must start with front matter between two '---' lines", field="file")
    header, body = match.groups()
    values: dict[str, str] = {}
    for number, line in enumerate(header.splitlines(), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or key not in KEYS:
            raise InvalidInput(
                f"line {number}: expected 'key: value' with key one of {', '.join(sorted(KEYS))}",
                field="front matter",
            )
        values[key] = value.strip()
    if not values.get("title"):
        raise InvalidInput("is required in the front matter", field="title")
    review_by = None
    if values.get("review_by"):
        try:
            review_by = dt.date.fromisoformat(values["review_by"])
        except ValueError:
            raise InvalidInput(
                f"must be a date like 2027-06-30 (got {values['review_by'][:20]!r})",
                field="review_by",
            ) from None

    def listed(key: str, separator: str = ",") -> list[str] | None:
        if key not in values:
            return None
        return [part.strip() for part in values[key].split(separator) if part.strip()]

    return services.ArticleDraft(
        title=values["title"],
        body=body,
        summary=values.get("summary", ""),
        status=values.get("status", "published"),
        audience=values.get("audience", "everyone"),
        tags=listed("tags") or [],
        services=listed("services") or [],
        owner=values.get("owner") or None,
        review_by=review_by,
        asked_as=listed("asked_as", ";") or [],
    )


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"is larger than {MAX_FILE_BYTES} bytes", field="file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("is not UTF-8 text", field="file") from None


def import_dir(actor: User | None, directory: Path) -> Result:
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory", field="dir")
    paths = sorted(directory.glob("*.md"))
    if not paths:
        raise InvalidInput(f"{directory} holds no .md files", field="dir")
    errors: list[str] = []
    drafts: list[tuple[Path, services.ArticleDraft]] = []
    titles: dict[str, Path] = {}
    for path in paths:
        try:
            draft = parse(_read(path))
        except CareLineError as exc:
            errors.append(f"{path.name}: {exc}")
            continue
        key = (draft.title or "").strip().lower()
        if key in titles:
            errors.append(f"{path.name}: title: the same title as {titles[key].name}")
            continue
        titles[key] = path
        drafts.append((path, draft))
    if errors:
        raise ImportFailed(errors)
    result = Result()
    with transaction.atomic():
        for path, draft in drafts:
            try:
                _upsert(actor, draft, result)
            except CareLineError as exc:
                errors.append(f"{path.name}: {exc}")
        if errors:
            # Leaving the block by raising rolls back every article written so far.
            raise ImportFailed(errors)
        # One batch through the sentence model instead of one call per article.
        services.embed_missing()
    return result


def _upsert(actor: User | None, draft: services.ArticleDraft, result: Result) -> None:
    existing = Article.objects.filter(title__iexact=(draft.title or "").strip()).first()
    if existing is None:
        services.create_article(actor, draft, embed=False)
        result.created += 1
        return
    before = existing.version
    services.update_article(actor, existing.pk, draft, embed=False)
    if Article.objects.filter(pk=existing.pk, version=before).exists():
        result.unchanged += 1
    else:
        result.updated += 1


def render(article: Article) -> str:
    lines = [
        "---",
        f"title: {article.title}",
        f"summary: {article.summary}",
        f"audience: {article.audience}",
        f"status: {article.status}",
        f"tags: {article.tags}",
        f"services: {', '.join(article.services.values_list('code', flat=True))}",
    ]
    if article.review_by:
        lines.append(f"review_by: {article.review_by.isoformat()}")
    if article.owner is not None:
        lines.append(f"owner: {article.owner.username}")
    if article.asked_as_list:
        lines.append(f"asked_as: {'; '.join(article.asked_as_list)}")
    return "\n".join([*lines, "---", article.body.rstrip("\n"), ""])


def export_dir(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for article in Article.objects.select_related("owner").order_by("id"):
        name = f"{article.pk:04d}-{slugify(article.title)[:60] or 'article'}.md"
        (directory / name).write_text(render(article), encoding="utf-8")
        count += 1
    return count
