from django.urls import URLPattern, path

from careline.reports.compliance import views

urlpatterns: list[URLPattern] = [
    path("reports/compliance/", views.index, name="compliance"),
    path("reports/compliance/<slug:name>/", views.report_page, name="compliance-report"),
]
