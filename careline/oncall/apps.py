from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS
from careline.core.permissions import Perm


class OnCallConfig(AppConfig):
    name = "careline.oncall"
    label = "oncall"
    verbose_name = "On-call and notifications"

    def ready(self) -> None:
        for item in (
            NavItem("On call", "/oncall/", Perm.ONCALL_VIEW),
            NavItem("Pages", "/oncall/pages/", Perm.ONCALL_VIEW),
        ):
            if item not in NAVIGATION:
                NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.oncall import demo, dispatcher, escalator

        dispatcher.register()
        escalator.register()
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
