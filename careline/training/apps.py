from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS


class TrainingConfig(AppConfig):
    name = "careline.training"
    label = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        # Everyone signed in registers for training: no permission on the menu item.
        item = NavItem("Training", "/training/")
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.training import demo, reminders

        reminders.register()
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
