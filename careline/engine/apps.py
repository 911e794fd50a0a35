from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "careline.engine"
    label = "engine"
    verbose_name = "CareLine engine"
