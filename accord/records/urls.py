from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("settings/record-types/", views.type_list, name="type_list"),
    path("settings/record-types/new", views.type_create, name="type_create"),
    path("settings/record-types/<int:pk>/", views.type_edit, name="type_edit"),
    path("settings/record-types/<int:pk>/delete", views.type_delete, name="type_delete"),
    path("settings/record-types/<int:pk>/fields/new", views.field_create, name="field_create"),
    path("settings/record-types/<int:pk>/fields/<int:field_pk>/", views.field_edit,
         name="field_edit"),
    path("settings/record-types/<int:pk>/fields/<int:field_pk>/move", views.field_move,
         name="field_move"),
    path("settings/record-types/<int:pk>/fields/<int:field_pk>/active", views.field_active,
         name="field_active"),
    path("records/<slug:type_key>/", views.record_list, name="list"),
    path("records/<slug:type_key>/export", views.record_export, name="export"),
    path("records/<slug:type_key>/trash", views.record_trash, name="trash"),
    path("records/<slug:type_key>/<int:pk>/restore", views.record_restore, name="restore"),
    path("records/<slug:type_key>/new", views.record_create, name="create"),
    path("records/<slug:type_key>/<int:pk>/", views.record_detail, name="detail"),
    path("records/<slug:type_key>/<int:pk>/edit", views.record_edit, name="edit"),
    path("records/<slug:type_key>/<int:pk>/delete", views.record_delete, name="delete"),
]
