from django.urls import path

from . import preference_views, views, webform_views

app_name = "marketing"
urlpatterns = [
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_create, name="segment_create"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/export.csv", views.segment_export, name="segment_export"),
    path("segments/<int:pk>/freeze/", views.segment_freeze, name="segment_freeze"),
    path("segments/<int:pk>/refresh/", views.segment_refresh, name="segment_refresh"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment_delete"),
    path("campaigns/forms/", webform_views.webform_list, name="webform_list"),
    path("campaigns/forms/new/", webform_views.webform_create, name="webform_create"),
    path("campaigns/forms/<int:pk>/", webform_views.webform_detail, name="webform"),
    path("campaigns/forms/<int:pk>/edit/", webform_views.webform_edit, name="webform_edit"),
    path("campaigns/forms/<int:pk>/delete/", webform_views.webform_delete,
         name="webform_delete"),
    path("f/confirm/<str:token>", webform_views.webform_confirm, name="webform_confirm"),
    path("f/<str:key>.json", webform_views.webform_json, name="webform_json"),
    path("f/<str:key>", webform_views.webform_public, name="webform_public"),
    path("p/<str:token>", preference_views.preference_centre, name="preferences"),
]
