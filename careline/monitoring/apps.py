from django.apps import AppConfig
from django.conf import settings

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS
from careline.core.permissions import Perm


class MonitoringConfig(AppConfig):
    name = "careline.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        item = NavItem("Monitoring", "/monitoring/", Perm.MONITORS_VIEW)
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.monitoring import checks, demo, heartbeats, housekeeping, scheduler

        if settings.MONITOR_CA_FILE:
            checks.trust_ca_file(settings.MONITOR_CA_FILE)
        scheduler.register()
        heartbeats.register()
        housekeeping.register()
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
