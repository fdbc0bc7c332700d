from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "accord.integrations"
    label = "integrations"

    def ready(self):
        # Subscribes outgoing webhooks to every domain event.
        from . import webhooks  # noqa: F401
