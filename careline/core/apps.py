from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.permissions import Perm


class CoreConfig(AppConfig):
    name = "careline.core"
    label = "core"
    verbose_name = "CareLine core"

    def ready(self) -> None:
        NAVIGATION.append(NavItem("Audit trail", "/audit/", Perm.AUDIT_VIEW))
