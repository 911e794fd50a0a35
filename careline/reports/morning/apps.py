from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.permissions import Perm


class MorningConfig(AppConfig):
    """The morning check and the end-of-shift handover: an app of its own inside reports, so
    the records it keeps (checks reviewed, handover notes) have their own migrations."""

    name = "careline.reports.morning"
    label = "morning"
    verbose_name = "Morning check and handover"

    def ready(self) -> None:
        for item in (
            NavItem("Morning check", "/morning/", Perm.DESK_VIEW),
            NavItem("Handover", "/handover/", Perm.DESK_VIEW),
        ):
            if item not in NAVIGATION:
                NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.reports.morning import schedule, watch

        # A mistyped CARELINE_MORNING_CHECK_HOUR or CARELINE_HANDOVER_TIMES stops start-up.
        schedule.validate()
        watch.register()
