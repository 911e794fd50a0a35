from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
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
        # Imported here: the loop's module needs the models, which load after this one.
        from careline.servicedesk import sla_watch

        sla_watch.register()
