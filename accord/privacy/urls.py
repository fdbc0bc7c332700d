from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("contacts/<int:pk>/data-request", views.contact_data_request,
         name="contact_request"),
    path("settings/privacy/", views.privacy_home, name="home"),
    path("settings/privacy/requests/", views.request_list, name="request_list"),
    path("settings/privacy/requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("settings/privacy/requests/<int:pk>/archive", views.request_archive,
         name="request_archive"),
    path("settings/privacy/retention/", views.rule_list, name="rule_list"),
    path("settings/privacy/retention/new", views.rule_create, name="rule_create"),
    path("settings/privacy/retention/<int:pk>/", views.rule_detail, name="rule_detail"),
    path("settings/privacy/retention/<int:pk>/edit", views.rule_edit, name="rule_edit"),
    path("settings/privacy/retention/<int:pk>/dry-run", views.rule_dry_run,
         name="rule_dry_run"),
    path("settings/privacy/retention/<int:pk>/run", views.rule_run, name="rule_run"),
    path("settings/privacy/retention/<int:pk>/delete", views.rule_delete, name="rule_delete"),
]
