from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "accord.marketing"
    label = "marketing"

    def ready(self):
        # Registers the condition kinds that ship with Accord (tags, consent,
        # activities, behaviour events, tickets, deals).
        from .conditions import kinds  # noqa: F401
