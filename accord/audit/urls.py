from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("settings/audit-log/", views.log, name="log"),
]
