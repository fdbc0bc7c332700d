from django.urls import path

from . import views

app_name = "relationships"
urlpatterns = [
    path("contacts/<int:pk>/relationships/new", views.relationship_add, name="add"),
    path("contacts/<int:pk>/relationships/<int:relationship_id>/edit",
         views.relationship_edit, name="edit"),
    path("contacts/<int:pk>/relationships/<int:relationship_id>/end", views.relationship_end,
         name="end"),
    path("contacts/<int:pk>/relationships/<int:relationship_id>/delete",
         views.relationship_delete, name="delete"),
    path("settings/relationship-roles/", views.role_list, name="roles"),
    path("settings/relationship-roles/<int:role_id>/delete", views.role_delete,
         name="role_delete"),
]
