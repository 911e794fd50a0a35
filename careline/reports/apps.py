from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.permissions import Perm
from careline.reports.dashboards import config as dashboard_config
from careline.reports.status import access


class ReportsConfig(AppConfig):
    name = "careline.reports"
    label = "reports"
    verbose_name = "Reports, status page and compliance"

    def ready(self) -> None:
        # Everyone signed in reads the status page: no permission on the menu item.
        status = NavItem("Status", "/status/")
        if status not in NAVIGATION:
            NAVIGATION.append(status)
        compliance = NavItem("Compliance", "/reports/compliance/", Perm.COMPLIANCE_VIEW)
        if compliance not in NAVIGATION:
            NAVIGATION.append(compliance)
        reports = NavItem("Reports", "/reports/", Perm.REPORTS_VIEW)
        if reports not in NAVIGATION:
            NAVIGATION.append(reports)
        # A mistyped CARELINE_UPTIME_TARGETS or CARELINE_NIGHT_HOURS stops start-up too.
        dashboard_config.check()
        # A mistyped CARELINE_STATUS_NETWORKS stops start-up, naming the variable.
        access.networks()
