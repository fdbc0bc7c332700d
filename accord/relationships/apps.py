from django.apps import AppConfig


class RelationshipsConfig(AppConfig):
    name = "accord.relationships"
    label = "relationships"
    verbose_name = "Relationships between people"
