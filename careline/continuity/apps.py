from django.apps import AppConfig

from careline.core import banners
from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS
from careline.core.permissions import Perm


class ContinuityConfig(AppConfig):
    name = "careline.continuity"
    label = "continuity"
    verbose_name = "Business continuity"

    def ready(self) -> None:
        # Ward staff read downtime events too: no permission on the menu item.
        item = NavItem("Downtime", "/downtime/")
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        recovery = NavItem("Recovery", "/recovery/", Perm.RECOVERY_VIEW)
        if recovery not in NAVIGATION:
            NAVIGATION.append(recovery)
        # Imported here: these modules need the models, which load after this one.
        from careline.continuity import demo, watch
        from careline.continuity.services import downtime

        banners.register(downtime.banners_for)
        watch.register()
        for step in (demo.load, demo.load_recovery):
            if step not in DEMO_STEPS:
                DEMO_STEPS.append(step)
