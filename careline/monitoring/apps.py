from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "careline.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
