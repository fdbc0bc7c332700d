from django.urls import path

from . import lead_views as views

app_name = "leads"
urlpatterns = [
    path("leads/", views.lead_list, name="list"),
    path("leads/new/", views.lead_create, name="create"),
    path("leads/export.csv", views.lead_export, name="export"),
    path("leads/<int:pk>/", views.lead_detail, name="detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="edit"),
    path("leads/<int:pk>/delete/", views.lead_delete, name="delete"),
    path("leads/<int:pk>/notes/", views.lead_note, name="note"),
    path("leads/<int:pk>/qualify/", views.lead_qualify, name="qualify"),
    path("leads/<int:pk>/reopen/", views.lead_reopen, name="reopen"),
    path("leads/<int:pk>/disqualify/", views.lead_disqualify, name="disqualify"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="convert"),
    path("settings/leads/", views.lead_settings, name="settings"),
    path("settings/leads/save/", views.lead_settings_save, name="settings_save"),
    path("settings/leads/assignment-rules/", views.assignment_rule_create,
         name="assignment_rule_create"),
    path("settings/leads/assignment-rules/<int:pk>/delete/", views.assignment_rule_delete,
         name="assignment_rule_delete"),
    path("settings/leads/scoring-rules/", views.scoring_rule_create,
         name="scoring_rule_create"),
    path("settings/leads/scoring-rules/<int:pk>/delete/", views.scoring_rule_delete,
         name="scoring_rule_delete"),
    path("settings/leads/forms/", views.capture_form_create, name="capture_form_create"),
    path("settings/leads/forms/<int:pk>/toggle/", views.capture_form_toggle,
         name="capture_form_toggle"),
    path("forms/<str:token>/lead", views.web_form_submit, name="web_form"),
]
