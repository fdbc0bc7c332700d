from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "accord.customers"
    label = "customers"

    def ready(self):
        # Registers the checks on FIELD_ENCRYPTION_KEYS, and contacts and
        # companies with accord.search.
        from accord.core import crypto  # noqa: F401

        from . import services  # noqa: F401
