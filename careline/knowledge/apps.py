from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "careline.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
