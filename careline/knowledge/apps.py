from django.apps import AppConfig

from careline.core.context import NAVIGATION, NavItem
from careline.core.demo_steps import DEMO_STEPS


class KnowledgeConfig(AppConfig):
    name = "careline.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        item = NavItem("Knowledge", "/kb/")
        if item not in NAVIGATION:
            NAVIGATION.append(item)
        # Imported here: these modules need the models, which load after this one.
        from careline.core import health
        from careline.knowledge import demo, hooks
        from careline.servicedesk import suggestions

        suggestions.register(hooks.suggest)
        suggestions.register_shown(hooks.record_shown)
        health.READINESS["knowledge_search"] = hooks.readiness
        if demo.load not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load)
