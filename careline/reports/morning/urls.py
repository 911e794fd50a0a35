from django.urls import URLPattern, path

from careline.reports.morning import views

urlpatterns: list[URLPattern] = [
    path("morning/", views.morning, name="morning"),
    path("morning/review/", views.morning_review, name="morning-review"),
    path("morning/history/", views.morning_history, name="morning-history"),
    path("morning/<int:check_id>/", views.morning_detail, name="morning-detail"),
    path("handover/", views.handover, name="handover"),
    path("handover/notes/", views.handover_note, name="handover-note"),
    path("handover/pdf/", views.handover_pdf, name="handover-pdf"),
]
