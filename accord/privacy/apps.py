from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "accord.privacy"
    label = "privacy"
    verbose_name = "Privacy"
