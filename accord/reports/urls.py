from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.report_list, name="list"),
    path("reports/new/", views.report_new, name="new"),
    path("reports/records/", views.report_records, name="records"),
    path("reports/export.csv", views.report_export, {"fmt": "csv"}, name="export_csv"),
    path("reports/export.xlsx", views.report_export, {"fmt": "xlsx"}, name="export_xlsx"),
    path("reports/dashboard/", views.role_home, name="role_home"),
    path("reports/<int:pk>/", views.report_detail, name="detail"),
    path("reports/<int:pk>/edit/", views.report_edit, name="edit"),
    path("reports/<int:pk>/delete/", views.report_delete, name="delete"),
    path("dashboards/new/", views.dashboard_create, name="dashboard_create"),
    path("dashboards/add/", views.dashboard_add, name="dashboard_add"),
    path("dashboards/<int:pk>/", views.dashboard_detail, name="dashboard"),
    path("dashboards/<int:pk>/tiles/", views.dashboard_tiles, name="dashboard_tiles"),
    path("dashboards/<int:pk>/delete/", views.dashboard_delete, name="dashboard_delete"),
]
