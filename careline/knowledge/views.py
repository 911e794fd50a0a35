"""Knowledge base pages: list and search, an article with its feedback buttons, the editor,
and the admin page saying whether semantic search is active."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, NotFound
from careline.core.markdown import render as render_markdown
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page
from careline.knowledge import search, semantic, services
from careline.knowledge.forms import ArticleForm
from careline.knowledge.models import Article, ArticleStatus, Deflection, Feedback

PAGE_LIMIT = 200


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "knowledge/not_found.html",
        {"message": "There is no such article, or it is not yours to read."},
        status=404,
    )


@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    query = request.GET.get("q", "").strip()
    context: dict[str, object] = {"q": query, "can_edit": has_perm(user, Perm.KB_EDIT)}
    if query:
        try:
            context["hits"] = search.search(query, user=user, limit=20)
            context["tickets"] = search.resolved_tickets(query, user=user)
        except search.EmptyQuery as exc:
            context["error"] = exc.message
    else:
        context["articles"] = services.readable(user).order_by("title")[:PAGE_LIMIT]
    return render(request, "knowledge/list.html", context)


@require_GET
def article_page(request: HttpRequest, article_id: int) -> HttpResponse:
    user = signed_in(request)
    try:
        article = services.get_readable(user, article_id)
    except NotFound:
        return _not_found(request)
    can_edit = has_perm(user, Perm.KB_EDIT)
    context = {
        "article": article,
        "body_html": render_markdown(article.body),
        "from_portal": request.GET.get("from") == "portal",
        "can_edit": can_edit,
        "versions": article.versions.order_by("-number") if can_edit else [],
        "comments": article.feedback.exclude(comment="")[:20] if can_edit else [],
        "stale": article.is_stale(),
    }
    return render(request, "knowledge/article.html", context)


@require_POST
def feedback(request: HttpRequest, article_id: int) -> HttpResponse:
    user = signed_in(request)
    solved = request.POST.get("solved") == "yes"
    try:
        services.add_feedback(
            user, article_id, solved=solved, comment=request.POST.get("comment", "")[:4000]
        )
    except NotFound:
        return _not_found(request)
    except CareLineError as exc:
        messages.error(request, str(exc))
        return redirect("knowledge:article", article_id=article_id)
    messages.success(request, "Thank you: your feedback helps IT improve this article.")
    return redirect("knowledge:article", article_id=article_id)


@require_POST
def solved(request: HttpRequest, article_id: int) -> HttpResponse:
    """ "This solved it" from an article the report form suggested: done, with no ticket."""
    user = signed_in(request)
    try:
        services.deflect(user, article_id)
    except NotFound:
        return _not_found(request)
    return render(request, "knowledge/solved.html", {"article_id": article_id})


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, article_id: int | None = None) -> HttpResponse:
    if (denied := require_page(request, Perm.KB_EDIT)) is not None:
        return denied
    user = signed_in(request)
    article = None
    if article_id is not None:
        article = Article.objects.filter(pk=article_id).first()
        if article is None:
            return _not_found(request)
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                if article is None:
                    saved = services.create_article(user, form.draft())
                else:
                    saved = services.update_article(user, article.pk, form.draft())
            except CareLineError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "Article saved.")
                return redirect("knowledge:article", article_id=saved.pk)
        status = 422
    else:
        form = ArticleForm.for_article(article) if article else ArticleForm()
        status = 200
    return render(request, "knowledge/edit.html", {"form": form, "article": article}, status=status)


@require_GET
def admin(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.KB_EDIT)) is not None:
        return denied
    counts = Article.objects.aggregate(
        published=Count("id", filter=Q(status=ArticleStatus.PUBLISHED)),
        draft=Count("id", filter=Q(status=ArticleStatus.DRAFT)),
        retired=Count("id", filter=Q(status=ArticleStatus.RETIRED)),
        embedded=Count("id", filter=~Q(embedding_model="")),
    )
    context = {
        "semantic": semantic.status(),
        "counts": counts,
        "stale": services.stale().order_by("review_by")[:50],
        "deflections": Deflection.objects.count(),
        "helpful": Feedback.objects.filter(solved=True).count(),
        "not_helpful": Feedback.objects.filter(solved=False).count(),
        "least_helpful": Article.objects.annotate(
            no=Count("feedback", filter=Q(feedback__solved=False))
        )
        .filter(no__gt=0)
        .order_by("-no")[:10],
    }
    return render(request, "knowledge/admin.html", context)
