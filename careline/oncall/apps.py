from django.apps import AppConfig


class OnCallConfig(AppConfig):
    name = "careline.oncall"
    label = "oncall"
    verbose_name = "On-call and notifications"

    def ready(self) -> None:
        from careline.oncall import dispatcher

        dispatcher.register()
