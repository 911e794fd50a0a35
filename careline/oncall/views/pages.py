"""On-call pages: Pages: acknowledge, resolve, list, and paging someone by hand."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
