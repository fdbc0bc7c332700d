from django.urls import path

from . import campaign_views, tracking_views, views

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
    path("templates/", campaign_views.template_list, name="template_list"),
    path("templates/new/", campaign_views.template_create, name="template_create"),
    path("templates/<int:pk>/", campaign_views.template_detail, name="template"),
    path("templates/<int:pk>/edit/", campaign_views.template_edit, name="template_edit"),
    path("templates/<int:pk>/preview.html", campaign_views.template_preview,
         name="template_preview"),
    path("templates/<int:pk>/test/", campaign_views.template_test_send,
         name="template_test_send"),
    path("templates/<int:pk>/delete/", campaign_views.template_delete, name="template_delete"),
    path("campaigns/", campaign_views.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", campaign_views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", campaign_views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/start/", campaign_views.campaign_start, name="campaign_start"),
    path("campaigns/<int:pk>/cancel/", campaign_views.campaign_cancel, name="campaign_cancel"),
    path("campaigns/suppressed/", campaign_views.suppression_list, name="suppression_list"),
    path("campaigns/suppressed/<int:pk>/remove/", campaign_views.suppression_remove,
         name="suppression_remove"),
    path("u/<str:token>", tracking_views.unsubscribe, name="unsubscribe"),
    path("t/o/<str:token>.gif", tracking_views.track_open, name="track_open"),
    path("t/c/<str:token>", tracking_views.track_click, name="track_click"),
]
