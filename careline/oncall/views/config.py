"""On-call pages: Contact methods, notification rules, escalation policies and routes, delivery targets."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
