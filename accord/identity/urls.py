from django.urls import path

from accord.core.views import pending

app_name = "identity"
urlpatterns = [
    path("login", pending, name="login"),
    path("logout", pending, name="logout"),
    path("profile", pending, name="profile"),
    path("settings", pending, name="settings"),
]
