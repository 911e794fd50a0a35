"""Article search: one interface over SQLite FTS5 or PostgreSQL full text, fused with
sentence-embedding similarity when the semantic extra is installed.

Lexical ranking weights the title above the summary and tags, and those above the body, and
stems words ("scanners" finds "scanner"). User text never reaches MATCH or a tsquery as
syntax: it is cut into plain words first. Staff describe problems in their own words ("the
cart computer dies halfway through med pass"), which the embedding model understands even
when no word is shared; lexical rank lifts exact names and codes. The two are merged by
normalised-score fusion: the cosine plus a small bonus for a high lexical rank.
bench/kb_relevance.py measures the alternatives: reciprocal-rank fusion let the lexical
ranking's noise (words like "screen" match many articles) outvote the meaning, and scored
lower on the labelled queries.
"""

from __future__ import annotations

import difflib
import html
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from careline.core.errors import CareLineError
from careline.core.models import User
from careline.core.permissions import Perm, has_perm
from careline.knowledge import semantic
from careline.knowledge.layterms import LAY_TERMS
from careline.knowledge.models import Article, ArticleStatus, Audience
from careline.servicedesk.choices import Status as TicketStatus
from careline.servicedesk.models import Ticket
from careline.servicedesk.search import search as ticket_search

# A longer query is cut, not refused: people paste whole error dialogs.
MAX_QUERY_CHARS = 500
MAX_TERMS = 24
# How deep each ranking goes before fusion.
CANDIDATES = 50
RRF_K = 60
SNIPPET_WORDS = 28
SERVICE_BOOST = 1.25
# Below this cosine an article is not offered as a suggestion on its own.
SUGGEST_MIN_COSINE = 0.3

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """a about after again all am an and any are as at be been before being but by can
    cannot could did do does doing dont for from get gets got had has have having he her
    here hers him his how i if im in into is it its ive just keeps me more my myself no nor
    not now of off on once only or other our out over own same she should so some still such
    than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    again help please hi hello thanks thank need want trying tried cant wont doesnt didnt
        isnt arent couldnt shouldnt s t d ll re ve""",
    )
)


class EmptyQuery(CareLineError):
    status = 400


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    score: float
    snippet: str
    summary: str = ""


@dataclass(frozen=True)
class Options:
    """How a search ranks; the defaults are what the product uses."""

    mode: str = "hybrid"  # "hybrid", "lexical" or "semantic"
    fusion: str = "score"  # "score" or "rrf" (reciprocal-rank fusion)
    # Typo tolerance: None (the default) corrects misspellings only when search is lexical
    # alone. With the sentence model, whose word pieces already absorb most misspellings,
    # corrections cost recall on the labelled queries (bench/kb_relevance.py).
    typos: bool | None = None
    lay_terms: bool = True
    # How much the lexical ranking counts beside the cosine (see _fuse).
    lexical_weight: float = 0.25


DEFAULT = Options()


def clean_query(text: str) -> str:
    text = " ".join(text.split())[:MAX_QUERY_CHARS]
    if not _WORD.search(text):
        raise EmptyQuery("must contain a word to search for", field="q")
    return text


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _terms(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in words(text):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def lay_expansion(text: str) -> str:
    """The IT words for the lay phrases in `text` (an empty string if none)."""
    padded = " " + " ".join(words(text.replace("'", ""))) + " "
    found = [it for lay, it in LAY_TERMS.items() if f" {lay} " in padded]
    return " ".join(found)


# --- what the index holds: cached per process, refreshed when articles change ---------


@dataclass
class _Corpus:
    key: tuple[Any, ...]
    vocabulary: frozenset[str]
    by_length: dict[int, list[str]]
    ids: list[int]
    audiences: list[str]
    vectors: Any  # numpy array, or None without the semantic extra
    common: frozenset[str] = frozenset()  # words too common to search for (COMMON_SHARE)
    # In how many published articles each word stem appears; filled in a large base only.
    frequency: dict[str, int] = field(default_factory=dict)
    # The published articles linked to each clinical service (by code), for the boost.
    by_service: dict[str, frozenset[int]] = field(default_factory=dict)


_corpus: _Corpus | None = None
_corpus_lock = threading.Lock()


def _published() -> QuerySet[Article]:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED)


def _corpus_key() -> tuple[Any, ...]:
    # One cheap aggregate per search tells whether anything was published, edited or retired.
    # COUNT(*) rather than COUNT(id): every column read is in the kb_article_changes index,
    # so PostgreSQL answers from the index alone (2 ms at 10,000 articles, against 9).
    agg = _published().aggregate(
        n=Count("*"),
        last=Max("updated_at"),
        embedded=Count("embedding_model", filter=~Q(embedding_model="")),
    )
    return (connection.settings_dict["NAME"], agg["n"], agg["last"], agg["embedded"])


def _load_corpus() -> _Corpus:
    global _corpus
    key = _corpus_key()
    current = _corpus
    if current is not None and current.key == key:
        return current
    with _corpus_lock:
        # Another thread may have re-read the index while this one waited for the lock.
        current = _corpus
        if current is not None and current.key == key:
            return current
        # Only a large base limits its searches by word counts (_telling).
        large = key[1] >= COMMON_FROM_ARTICLES
        vocabulary: set[str] = set()
        in_articles: Counter[str] = Counter()
        stems_in_articles: Counter[str] = Counter()
        count = 0
        ids: list[int] = []
        audiences: list[str] = []
        blobs: list[bytes] = []
        with_vectors = semantic.active()
        rows = _published().values_list(
            "id", "title", "summary", "tags", "body", "audience", "embedding"
        )
        for pk, title, summary, tags, body, audience, blob in rows.iterator(chunk_size=2000):
            found = set(words(f"{title} {summary} {tags} {body}"))
            vocabulary.update(w for w in found if len(w) > 3)
            in_articles.update(found)
            if large:
                stems_in_articles.update({index_stem(w) for w in found})
            count += 1
            if with_vectors and blob and len(blob) == semantic.DIMENSIONS * 4:
                ids.append(pk)
                audiences.append(audience)
                blobs.append(bytes(blob))
        linked: dict[str, set[int]] = {}
        for pk, code in Article.services.through.objects.filter(
            article__status=ArticleStatus.PUBLISHED
        ).values_list("article_id", "clinicalservice__code"):
            linked.setdefault(code, set()).add(pk)
        by_length: dict[int, list[str]] = {}
        for word in sorted(vocabulary):
            by_length.setdefault(len(word), []).append(word)
        built = _Corpus(
            key=key,
            vocabulary=frozenset(vocabulary),
            by_length=by_length,
            ids=ids,
            audiences=audiences,
            vectors=semantic.matrix(blobs) if with_vectors else None,
            common=frozenset(w for w, n in in_articles.items() if n > COMMON_SHARE * count)
            if count >= COMMON_FROM_ARTICLES
            else frozenset(),
            frequency=dict(stems_in_articles),
            by_service={code: frozenset(ids) for code, ids in linked.items()},
        )
        _corpus = built
        _correct.cache_clear()
        return built


@lru_cache(maxsize=4096)
def _correct(word: str) -> str | None:
    """The indexed word a misspelt one most likely meant ("wristbnad" → "wristband")."""
    corpus = _corpus
    if corpus is None or word in corpus.vocabulary or len(word) < 5 or word.isdigit():
        return None
    candidates = [
        w
        for n in range(len(word) - 1, len(word) + 2)
        for w in corpus.by_length.get(n, ())
        if w[0] == word[0] or w[-1] == word[-1]
    ]
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.8)
    return found[0] if found else None


# --- the two rankings ---------------------------------------------------------------


def _audiences(user: User | None) -> list[str]:
    """None is anyone signed in (the portal's suggestions): articles for everyone."""
    if user is not None and has_perm(user, Perm.DESK_VIEW):
        return [Audience.EVERYONE, Audience.IT]
    return [Audience.EVERYONE]


# Constant SQL: user words travel only as parameters. The audience test takes two
# parameters; a caller allowed one audience passes it twice. PostgreSQL ranks in the
# function of migration 0005, which reads the matches through the GIN index.
_PG_LEXICAL = "SELECT id FROM knowledge_lexical(%s, %s, %s, %s, %s)"
# bm25 weights: title 10, summary 4, tags 4, body 1. The full-text index ranks alone first
# (reading article rows for thousands of matches of a common word was most of a search's
# time at 10,000 articles); only its best few hundred are then checked against the table.
_SQLITE_LEXICAL = """
    SELECT a.id FROM (
        SELECT rowid, bm25(knowledge_article_fts, 10.0, 4.0, 4.0, 1.0) AS rank
        FROM knowledge_article_fts WHERE knowledge_article_fts MATCH %s
        ORDER BY rank LIMIT %s
    ) f JOIN knowledge_article a ON a.id = f.rowid
    WHERE a.status = %s AND a.audience IN (%s, %s)
    ORDER BY f.rank, a.id LIMIT %s"""
# How many full-text matches are ranked before published and audience are checked.
RANKED_FIRST = 300
# In a large knowledge base, a word in more than this share of the articles tells them
# apart no better than a stopword (its inverse document frequency is near nothing), yet
# matching it makes the full-text index rank most of the articles: it is left out of the
# lexical search (the sentence model still reads the whole query).
COMMON_SHARE = 0.2
COMMON_FROM_ARTICLES = 500
# At most about this many articles are ranked by the full-text index for one query (_telling).
MATCHES_RANKED = 1000


_stemmers = threading.local()


@lru_cache(maxsize=200_000)
def index_stem(word: str) -> str:
    """The stem the full-text index files `word` under (Snowball English, as PostgreSQL's
    'english' configuration; SQLite's Porter stemmer agrees on nearly every word)."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:  # a stemmer keeps state while it works: one per thread
        stemmer = _stemmers.english = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


def _telling(terms: list[str], corpus: _Corpus) -> list[str]:
    """The query's words the lexical search matches, in their order.

    In a large base, words in over COMMON_SHARE of the articles are left out; then the
    rarest words are kept, and the more common ones dropped once the articles they could
    match pass MATCHES_RANKED: the full-text index ranks every article a word matches, and
    a handful of everyday words ("bay", "go", "times") would make it rank nearly all of
    them. The words dropped are the ones that tell articles apart least (the inverse
    document frequency that bm25 and ts_rank weigh them by is lowest); the sentence model
    still reads the whole query. A query of nothing but such words is searched as typed.
    """
    kept = [t for t in terms if t not in corpus.common] or terms
    if not corpus.frequency:
        return kept
    matching = {t: corpus.frequency.get(index_stem(t), 0) for t in kept}
    chosen: set[str] = set()
    reach = 0
    for term in sorted(kept, key=matching.__getitem__):
        matches = matching[term]
        if chosen and reach + matches > MATCHES_RANKED:
            break
        chosen.add(term)
        reach += matches
    return [t for t in kept if t in chosen]


def _lexical(terms: list[str], audiences: list[str]) -> list[int]:
    """Article ids matching any of `terms`, best first (bm25 / ts_rank_cd)."""
    if not terms:
        return []
    pair = [audiences[0], audiences[-1]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only plain words reach websearch_to_tsquery, joined by its "or".
            query = " or ".join(terms)
            cursor.execute(_PG_LEXICAL, [query, ArticleStatus.PUBLISHED, *pair, CANDIDATES])
        else:
            # Each word double-quoted: FTS5 reads it as a plain string, never as syntax.
            match = " OR ".join(f'"{t}"' for t in terms)
            cursor.execute(
                _SQLITE_LEXICAL,
                [match, RANKED_FIRST, ArticleStatus.PUBLISHED, *pair, CANDIDATES],
            )
        return [row[0] for row in cursor.fetchall()]


def _semantic(text: str, corpus: _Corpus, audiences: list[str]) -> list[tuple[int, float]]:
    if corpus.vectors is None or not corpus.ids:
        return []
    scores = semantic.cosine(semantic.encode_query(text), corpus.vectors)
    order = scores.argsort()[::-1]
    allowed = set(audiences)
    found: list[tuple[int, float]] = []
    for index in order:
        if corpus.audiences[index] in allowed:
            found.append((corpus.ids[index], float(scores[index])))
            if len(found) == CANDIDATES:
                break
    return found


def _fuse(
    lexical: list[int], similar: list[tuple[int, float]], options: Options
) -> dict[int, float]:
    scores: dict[int, float] = {}
    weight = options.lexical_weight
    if options.fusion == "score":
        # Cosine as it is, plus the lexical rank scaled to 0..0.2 * weight: enough to order
        # articles the model finds about equally close, too little to override meaning.
        for pk, cos in similar:
            scores[pk] = cos
        for rank, pk in enumerate(lexical):
            scores[pk] = scores.get(pk, 0.0) + weight * 0.2 * (1 - rank / CANDIDATES)
        return scores
    # Reciprocal-rank fusion, the lexical ranking counted at `weight`.
    for rank, (pk, _cos) in enumerate(similar):
        scores[pk] = 1 / (RRF_K + rank + 1)
    for rank, pk in enumerate(lexical):
        scores[pk] = scores.get(pk, 0.0) + weight / (RRF_K + rank + 1)
    return scores


def ranked(
    query: str, *, user: User | None, service: str | None = None, options: Options = DEFAULT
) -> list[tuple[int, float]]:
    """(article id, score) for a cleaned query, best first."""
    corpus = _load_corpus()
    audiences = _audiences(user)
    terms = _terms(query)
    corrections: dict[str, str] = {}
    typos = options.typos
    if typos is None:
        typos = options.mode == "lexical" or not semantic.active()
    if typos:
        corrections = {t: c for t in terms if (c := _correct(t)) is not None}
    expansion = lay_expansion(query) if options.lay_terms else ""
    search_terms = list(dict.fromkeys(terms + list(corrections.values()) + _terms(expansion)))
    telling = _telling(search_terms, corpus)
    lexical = _lexical(telling[: MAX_TERMS * 2], audiences) if options.mode != "semantic" else []
    similar: list[tuple[int, float]] = []
    if options.mode != "lexical" and semantic.active():
        # The model reads the words as meant: misspellings corrected, lay words explained.
        text = " ".join(corrections.get(w, w) for w in words(query)) if corrections else query
        if expansion:
            text = f"{text} ({expansion})"
        similar = _semantic(text, corpus, audiences)
    if not similar:
        scores = {pk: 1 / (RRF_K + rank + 1) for rank, pk in enumerate(lexical)}
    else:
        scores = _fuse(lexical, similar, options)
    if service:
        for pk in corpus.by_service.get(service, frozenset()) & scores.keys():
            scores[pk] *= SERVICE_BOOST
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def search(
    query: str,
    *,
    user: User | None,
    limit: int = 10,
    service: str | None = None,
    options: Options = DEFAULT,
) -> list[Hit]:
    """Published articles `user` may read that answer `query`, best first."""
    text = clean_query(query)
    top = ranked(text, user=user, service=service, options=options)[:limit]
    articles = Article.objects.in_bulk([pk for pk, _ in top])
    highlight = set(_terms(text) + _terms(lay_expansion(text)))
    return [
        Hit(
            id=pk,
            title=articles[pk].title,
            score=round(score, 6),
            snippet=snippet(articles[pk].body, highlight) or html.escape(articles[pk].summary),
            summary=articles[pk].summary,
        )
        for pk, score in top
        if pk in articles
    ]


# --- snippets -----------------------------------------------------------------------

_MARKDOWN_NOISE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[#*_`>|]+")


def plain_text(markdown: str) -> str:
    """Readable words of a Markdown text (links keep their text) for snippets."""
    return " ".join(_MARKDOWN_NOISE.sub(lambda m: m.group(1) or " ", markdown).split())


def _stem(word: str) -> str:
    return word[: max(4, len(word) - 3)] if len(word) > 4 else word


def snippet(body: str, terms: Iterable[str]) -> str:
    """The passage of `body` holding most query words, HTML-escaped, with them in <mark>."""
    stems = sorted({_stem(t) for t in terms if len(t) > 2}, key=len, reverse=True)
    tokens = plain_text(body).split(" ")
    if not stems or not tokens:
        return ""
    # A token is a hit when it starts (after punctuation) with one of the stems.
    starts = re.compile(r"[^\w]*(?:" + "|".join(re.escape(s) for s in stems) + ")", re.IGNORECASE)

    def hit(token: str) -> bool:
        return starts.match(token) is not None

    marks = [hit(t) for t in tokens]
    if not any(marks):
        return ""
    best, best_count = 0, -1
    running = sum(marks[:SNIPPET_WORDS])
    for start in range(max(1, len(tokens) - SNIPPET_WORDS + 1)):
        if start:
            running += (
                marks[start + SNIPPET_WORDS - 1] if start + SNIPPET_WORDS - 1 < len(marks) else 0
            )
            running -= marks[start - 1]
        if running > best_count:
            best, best_count = start, running
    window = range(best, min(len(tokens), best + SNIPPET_WORDS))
    parts = [
        f"<mark>{html.escape(tokens[i])}</mark>" if marks[i] else html.escape(tokens[i])
        for i in window
    ]
    prefix = "… " if best else ""
    suffix = " …" if best + SNIPPET_WORDS < len(tokens) else ""
    return prefix + " ".join(parts) + suffix


# --- resolved tickets, for the desk -------------------------------------------------


@dataclass(frozen=True)
class TicketHit:
    id: int
    number: str
    title: str
    resolution: str
    snippet: str


RESOLVED_TERMS = 6


def resolved_tickets(query: str, *, user: User, limit: int = 5) -> list[TicketHit]:
    """Resolved tickets like the query, with how they were fixed; for the desk only."""
    if not has_perm(user, Perm.DESK_VIEW):
        return []
    terms = _terms(clean_query(query))[:RESOLVED_TERMS]
    if not terms:
        return []
    done = (
        Ticket.objects.visible_to(user)
        .filter(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
        .exclude(resolution_notes="")
    )
    rows = ticket_search(done, " ".join(terms))[:limit]
    return [
        TicketHit(
            id=t.pk,
            number=t.number,
            title=t.title,
            resolution=t.resolution_notes[:1000],
            snippet=snippet(t.resolution_notes, terms) or html.escape(t.resolution_notes[:200]),
        )
        for t in rows
    ]


def _terms_all(text: str) -> list[str]:
    """Every non-stop word of `text` (no cap), for measuring word overlap."""
    return [w for w in words(text) if w not in STOPWORDS]
