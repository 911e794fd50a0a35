from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "careline.engine"
    label = "engine"
    verbose_name = "CareLine engine"

    def ready(self) -> None:
        from careline.engine import maintenance  # the engine's own loops, once apps are loaded

        maintenance.register_loops()
