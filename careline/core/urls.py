from django.urls import path

from careline.core import health, views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.verify_view, name="login-verify"),
    path("login/enrol/", views.enrol_view, name="login-enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
]
