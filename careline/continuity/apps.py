from django.apps import AppConfig

from careline.core import banners
from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS


class ContinuityConfig(AppConfig):
    name = "careline.continuity"
    label = "continuity"
    verbose_name = "Business continuity"

    def ready(self) -> None:
        # Ward staff read downtime events too: no permission on the menu item.
        item = NavItem("Downtime", "/downtime/")
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.continuity import demo, watch
        from careline.continuity.services import downtime

        banners.register(downtime.banners_for)
        watch.register()
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
