"""On-call pages: Schedules, rotations, overrides, shift swaps, who is on call now."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
