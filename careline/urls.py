from django.urls import include, path

from careline.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("careline.core.urls")),
    path("", include("careline.servicedesk.urls")),
    path("", include("careline.cmdb.urls")),
    path("", include("careline.knowledge.urls")),
    path("", include("careline.monitoring.urls")),
    path("", include("careline.oncall.urls")),
    path("", include("careline.continuity.urls")),
    path("", include("careline.changes.urls")),
    path("", include("careline.reports.urls")),
    path("", include("careline.training.urls")),
]
