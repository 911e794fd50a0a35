from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.permissions import Perm


class ReportsConfig(AppConfig):
    name = "careline.reports"
    label = "reports"
    verbose_name = "Reports, status page and compliance"

    def ready(self) -> None:
        compliance = NavItem("Compliance", "/reports/compliance/", Perm.COMPLIANCE_VIEW)
        if compliance not in NAVIGATION:
            NAVIGATION.append(compliance)
