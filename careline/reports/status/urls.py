from django.urls import URLPattern, path

from careline.reports.status import views

urlpatterns: list[URLPattern] = [
    path("status/", views.status_page, name="status"),
    path("status/notices/new/", views.notice_new, name="status-notice-new"),
    path("status/notices/<int:notice_id>/end/", views.notice_end, name="status-notice-end"),
]
