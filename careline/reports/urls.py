from django.urls import URLPattern

from careline.reports.compliance import urls as compliance_urls
from careline.reports.dashboards import urls as dashboard_urls
from careline.reports.morning import urls as morning_urls
from careline.reports.status import urls as status_urls

app_name = "reports"

urlpatterns: list[URLPattern] = [
    *status_urls.urlpatterns,
    *compliance_urls.urlpatterns,
    *morning_urls.urlpatterns,
    *dashboard_urls.urlpatterns,
]
