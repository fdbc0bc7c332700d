from django.urls import path

from . import insights_views as views

app_name = "sales_insights"
urlpatterns = [
    path("forecast/", views.forecast, name="forecast"),
    path("forecast/export.csv", views.forecast_export, name="forecast_export"),
    path("quotas/", views.quotas, name="quotas"),
    path("settings/exchange-rates/", views.exchange_rates, name="exchange_rates"),
    path("reports/pipelines/", views.pipeline_report_index, name="pipeline_report_index"),
    path("reports/pipelines/<int:pk>/", views.pipeline_report, name="pipeline_report"),
    path("reports/pipelines/<int:pk>/export.csv", views.pipeline_report_export,
         name="pipeline_report_export"),
]
