from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "accord.sales"
    label = "sales"

    def ready(self):
        # Registers deals with accord.search.
        from . import services  # noqa: F401
