from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "accord.customers"
    label = "customers"

    def ready(self):
        # Registers contacts and companies with accord.search.
        from . import services  # noqa: F401
