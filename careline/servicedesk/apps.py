from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS
from careline.core.permissions import Perm

# The console is for IT staff (agent, engineer, manager, auditor, admin).
CONSOLE_PERM = Perm.DESK_VIEW


class ServiceDeskConfig(AppConfig):
    name = "careline.servicedesk"
    label = "servicedesk"
    verbose_name = "Service desk"

    def ready(self) -> None:
        for item in (
            NavItem("Report a problem", "/report/"),
            NavItem("My tickets", "/my/"),
            NavItem("Service desk", "/desk/", CONSOLE_PERM),
        ):
            if item not in NAVIGATION:
                NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.servicedesk import demo, sla_watch

        sla_watch.register()
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
