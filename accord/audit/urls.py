from django.urls import path

from accord.core.views import pending

app_name = "audit"
urlpatterns = [
    path("settings/audit-log/", pending, name="log"),
]
