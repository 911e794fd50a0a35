from __future__ import annotations

from typing import Any

from django import forms

from careline.core.models import ClinicalService
from careline.knowledge.models import Article, ArticleStatus, Audience
from careline.knowledge.services import ArticleDraft


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(
        max_length=500, required=False, help_text="One sentence shown in search results."
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Markdown: steps as a numbered list, ## for headings.",
    )
    status = forms.ChoiceField(choices=ArticleStatus.choices)
    audience = forms.ChoiceField(choices=Audience.choices)
    tags = forms.CharField(max_length=500, required=False, help_text="Words separated by commas.")
    asked_as = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        label="Also asked as",
        help_text=(
            "How staff describe this problem in their own words, one per line "
            "(“cart dies before the round ends”). Search reads them beside the title."
        ),
    )
    services = forms.ModelMultipleChoiceField(
        queryset=ClinicalService.objects.all(), to_field_name="code", required=False
    )
    review_by = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Review by"
    )

    @classmethod
    def for_article(cls, article: Article) -> ArticleForm:
        initial: dict[str, Any] = {
            "title": article.title,
            "summary": article.summary,
            "body": article.body,
            "status": article.status,
            "audience": article.audience,
            "tags": article.tags,
            "asked_as": article.asked_as,
            "services": list(article.services.values_list("code", flat=True)),
            "review_by": article.review_by,
        }
        return cls(initial=initial)

    def draft(self) -> ArticleDraft:
        data = self.cleaned_data
        return ArticleDraft(
            title=data["title"],
            summary=data["summary"],
            body=data["body"],
            status=data["status"],
            audience=data["audience"],
            tags=[t for t in data["tags"].split(",") if t.strip()],
            asked_as=data["asked_as"].splitlines(),
            services=[s.code for s in data["services"]],
            review_by=data["review_by"],
        )
