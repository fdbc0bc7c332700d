from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "accord.sales"
    label = "sales"

    def ready(self):
        # Registers deals and leads with accord.search.
        from . import leads, services  # noqa: F401
