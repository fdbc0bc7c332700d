from django.urls import path

from . import views

app_name = "automation"
urlpatterns = [
    path("settings/rules/", views.rule_list, name="rule_list"),
    path("settings/rules/new/", views.rule_create, name="rule_create"),
    path("settings/rules/starters/<slug:key>/", views.starter_add, name="starter"),
    path("settings/rules/<int:pk>/", views.rule_detail, name="rule"),
    path("settings/rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("settings/rules/<int:pk>/active/", views.rule_active, name="rule_active"),
    path("settings/rules/<int:pk>/dry-run/", views.rule_dry_run, name="rule_dry_run"),
    path("settings/rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
]
