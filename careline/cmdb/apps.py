from django.apps import AppConfig


class CmdbConfig(AppConfig):
    name = "careline.cmdb"
    label = "cmdb"
    verbose_name = "Configuration and vendors"
