from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "accord.commerce"
    label = "commerce"

    def ready(self):
        # Purchase conditions join the segment condition language.
        from . import segment_conditions  # noqa: F401
