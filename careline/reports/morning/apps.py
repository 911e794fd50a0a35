from django.apps import AppConfig


class MorningConfig(AppConfig):
    """The morning check and the end-of-shift handover: an app of its own inside reports, so
    the records it keeps (checks reviewed, handover notes) have their own migrations."""

    name = "careline.reports.morning"
    label = "morning"
    verbose_name = "Morning check and handover"
