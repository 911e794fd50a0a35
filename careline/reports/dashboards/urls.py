from django.urls import URLPattern, path

from careline.reports.dashboards import views

# /reports/compliance/ is matched first (its patterns come before these in reports.urls).
urlpatterns: list[URLPattern] = [
    path("reports/", views.index, name="dashboards"),
    path("reports/<slug:name>/", views.dashboard_page, name="dashboard"),
]
