from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "accord.automation"
    label = "automation"
    verbose_name = "Workflow rules"

    def ready(self):
        # Subscribes the rules to every domain event.
        from . import triggers  # noqa: F401
