from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "accord.service"
    label = "service"

    def ready(self):
        # Registers tickets with accord.search.
        from . import services  # noqa: F401
