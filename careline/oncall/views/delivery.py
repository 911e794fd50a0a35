"""On-call pages: The outbox seen from outside: notifications, the dead-letter list, retry."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
