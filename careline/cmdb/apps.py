from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS
from careline.core.permissions import Perm


class CmdbConfig(AppConfig):
    name = "careline.cmdb"
    label = "cmdb"
    verbose_name = "Configuration and vendors"

    def ready(self) -> None:
        item = NavItem("CMDB", "/cmdb/", Perm.CMDB_VIEW)
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.cmdb import demo, reminders

        reminders.register()
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
