from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "careline.servicedesk"
    label = "servicedesk"
    verbose_name = "Service desk"
