from django.urls import path

from . import knowledge_views as views

app_name = "knowledge"
urlpatterns = [
    path("knowledge/", views.article_list, name="list"),
    path("knowledge/export.csv", views.article_export, name="export"),
    path("knowledge/new/", views.article_create, name="create"),
    path("knowledge/<int:pk>/", views.article_detail, name="article"),
    path("knowledge/<int:pk>/edit/", views.article_edit, name="edit"),
    path("knowledge/<int:pk>/publish/", views.article_publish, name="publish"),
    path("knowledge/<int:pk>/unpublish/", views.article_unpublish, name="unpublish"),
    path("knowledge/<int:pk>/delete/", views.article_delete, name="delete"),
    path("knowledge/categories/", views.category_list, name="categories"),
    path("knowledge/categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("knowledge/categories/<int:pk>/delete/", views.category_delete,
         name="category_delete"),
    path("knowledge/suggestions/<int:number>/", views.ticket_suggestions, name="suggestions"),
]
