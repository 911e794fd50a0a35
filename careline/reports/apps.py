from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "careline.reports"
    label = "reports"
    verbose_name = "Reports, status page and compliance"
