from django.urls import path

from accord.core.views import pending

app_name = "activities"
urlpatterns = [
    path("tasks/", pending, name="my_tasks"),
]
