from django.urls import path

from . import satisfaction_views, sla_views, views

app_name = "service"
urlpatterns = [
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_create, name="create"),
    path("tickets/upload/", views.eml_upload, name="upload"),
    path("tickets/export.csv", views.ticket_export, name="export"),
    path("tickets/bulk/", views.ticket_bulk, name="bulk"),
    path("tickets/at-risk/", views.at_risk, name="at_risk"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/save/", views.ticket_update, name="update"),
    path("tickets/<int:number>/reply/", views.ticket_reply, name="reply"),
    path("tickets/<int:number>/presence/", views.ticket_presence, name="presence"),
    path("tickets/<int:number>/delete/", views.ticket_delete, name="delete"),
    path("tickets/<int:number>/messages/<int:message_id>/original.eml", views.message_raw,
         name="message_raw"),
    path("tickets/<int:number>/attachments/<int:attachment_id>/", views.attachment_download,
         name="attachment"),
    path("settings/queues/", views.queue_list, name="queues"),
    path("settings/queues/<int:pk>/", views.queue_edit, name="queue_edit"),
    path("settings/canned-replies/", views.canned_list, name="canned_replies"),
    path("settings/routing/", views.routing_list, name="routing"),
    path("settings/routing/<int:pk>/", views.routing_edit, name="routing_edit"),
    path("settings/canned-replies/<int:pk>/", views.canned_edit, name="canned_edit"),
    path("settings/sla/", sla_views.sla_overview, name="sla_settings"),
    path("settings/sla/calendars/new/", sla_views.calendar_create, name="sla_calendar_create"),
    path("settings/sla/calendars/<int:pk>/", sla_views.calendar_edit, name="sla_calendar_edit"),
    path("settings/sla/calendars/<int:pk>/delete/", sla_views.calendar_delete,
         name="sla_calendar_delete"),
    path("settings/sla/policies/new/", sla_views.policy_create, name="sla_policy_create"),
    path("settings/sla/policies/<int:pk>/", sla_views.policy_edit, name="sla_policy_edit"),
    path("settings/sla/policies/<int:pk>/delete/", sla_views.policy_delete,
         name="sla_policy_delete"),
    path("tickets/satisfaction/", satisfaction_views.satisfaction_report, name="satisfaction"),
    path("survey/<str:token>/", satisfaction_views.survey_answer, name="survey"),
]
