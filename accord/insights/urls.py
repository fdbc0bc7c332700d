from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("settings/loyalty/", views.loyalty_settings, name="loyalty_settings"),
]
