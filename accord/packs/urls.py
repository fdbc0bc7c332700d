from django.urls import path

from . import views

app_name = "packs"
urlpatterns = [
    path("settings/packs/", views.pack_list, name="list"),
    path("settings/packs/<slug:name>/", views.pack_detail, name="detail"),
    path("settings/packs/<slug:name>/apply", views.pack_apply, name="apply"),
    path("settings/packs/<slug:name>/remove", views.pack_remove, name="remove"),
]
