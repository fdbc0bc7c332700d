from django.urls import path

from . import views

app_name = "sales"
urlpatterns = [
    path("deals/", views.deal_home, name="home"),
    path("deals/list/", views.deal_list, name="deal_list"),
    path("deals/export.csv", views.deal_export, name="deal_export"),
    path("deals/new/", views.deal_create, name="deal_create"),
    path("deals/board/<int:pk>/", views.board, name="board"),
    path("deals/board/<int:pk>/stages/<int:stage_pk>/", views.board_column,
         name="board_column"),
    path("deals/<int:pk>/", views.deal_detail, name="deal"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal_move"),
    path("deals/<int:pk>/delete/", views.deal_delete, name="deal_delete"),
    path("deals/<int:pk>/restore/", views.deal_restore, name="deal_restore"),
    path("deals/<int:pk>/contacts/", views.deal_contact_add, name="deal_contact_add"),
    path("deals/<int:pk>/contacts/<int:contact_pk>/remove/", views.deal_contact_remove,
         name="deal_contact_remove"),
    path("deals/<int:pk>/line-items/", views.deal_line_items, name="deal_line_items"),
    path("settings/pipelines/", views.pipeline_list, name="pipeline_list"),
    path("settings/pipelines/<int:pk>/", views.pipeline_edit, name="pipeline_edit"),
    path("settings/pipelines/<int:pk>/state", views.pipeline_state, name="pipeline_state"),
    path("settings/pipelines/<int:pk>/stages/", views.stage_add, name="stage_add"),
    path("settings/stages/<int:pk>/", views.stage_edit, name="stage_edit"),
    path("settings/stages/<int:pk>/reorder", views.stage_reorder, name="stage_reorder"),
    path("settings/stages/<int:pk>/delete", views.stage_delete, name="stage_delete"),
]
