from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "careline.training"
    label = "training"
    verbose_name = "Training"
