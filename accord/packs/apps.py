from django.apps import AppConfig


class PacksConfig(AppConfig):
    name = "accord.packs"
    label = "packs"
    verbose_name = "Industry packs"
