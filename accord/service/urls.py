from django.urls import path

from . import portal_views, views

app_name = "service"
urlpatterns = [
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_create, name="create"),
    path("tickets/upload/", views.eml_upload, name="upload"),
    path("tickets/export.csv", views.ticket_export, name="export"),
    path("tickets/bulk/", views.ticket_bulk, name="bulk"),
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
    path("settings/portal/", portal_views.portal_settings, name="portal_settings"),
]
