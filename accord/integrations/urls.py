from django.urls import path

from . import export_views

app_name = "integrations"
urlpatterns = [
    path("exports/", export_views.export_list, name="export_list"),
    path("exports/<int:export_id>/", export_views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/download", export_views.export_download,
         name="export_download"),
]
