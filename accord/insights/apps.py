from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "accord.insights"
    label = "insights"

    def ready(self):
        # Scores are recomputed a little after an order changes.
        from . import tasks  # noqa: F401
