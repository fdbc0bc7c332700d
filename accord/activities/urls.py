from django.urls import path

from . import calendar_views, views

app_name = "activities"
urlpatterns = [
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("activities/new/", views.create, name="create"),
    path("activities/timeline/<str:entity>/<int:pk>/", views.timeline, name="timeline"),
    path("activities/<int:pk>/", views.detail, name="detail"),
    path("activities/<int:pk>/edit/", views.edit, name="edit"),
    path("activities/<int:pk>/delete/", views.delete, name="delete"),
    path("activities/<int:pk>/done/", views.task_done, name="task_done"),
    path("settings/calendar/", calendar_views.calendar_settings, name="calendar_settings"),
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
]
