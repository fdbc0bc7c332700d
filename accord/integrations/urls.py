from django.urls import path

from . import export_views, views, webhook_views

app_name = "integrations"
urlpatterns = [
    path("exports/", export_views.export_list, name="export_list"),
    path("exports/<int:export_id>/", export_views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/download", export_views.export_download,
         name="export_download"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_create, name="import_create"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/map/", views.import_map, name="import_map"),
    path("imports/<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("imports/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import_undo"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("settings/webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("settings/webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:pk>/delete", webhook_views.webhook_delete,
         name="webhook_delete"),
    path("settings/webhooks/<int:pk>/deliveries/<int:delivery_id>/",
         webhook_views.delivery_detail, name="webhook_delivery"),
    path("settings/webhooks/<int:pk>/deliveries/<int:delivery_id>/replay",
         webhook_views.delivery_replay, name="webhook_replay"),
]
