from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "accord.integrations"
    label = "integrations"
