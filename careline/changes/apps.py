from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS
from careline.core.permissions import Perm


class ChangesConfig(AppConfig):
    name = "careline.changes"
    label = "changes"
    verbose_name = "Change management"

    def ready(self) -> None:
        item = NavItem("Changes", "/changes/", Perm.CHANGES_VIEW)
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        # Imported here: the demo needs the models, which load after this module.
        from careline.changes import demo

        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
