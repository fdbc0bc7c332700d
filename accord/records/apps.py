from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "accord.records"
    label = "records"
    verbose_name = "Custom records"

    def ready(self):
        # Registers records with accord.search, and the confidential types
        # with the visibility rules.
        from . import services  # noqa: F401
