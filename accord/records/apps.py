from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "accord.records"
    label = "records"
    verbose_name = "Custom records"
