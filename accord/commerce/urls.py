from django.urls import path

from . import order_views

app_name = "commerce"
urlpatterns = [
    path("orders/", order_views.order_list, name="order_list"),
    path("orders/new/", order_views.order_create, name="order_create"),
    path("orders/export.csv", order_views.order_export, name="order_export"),
    path("orders/<int:pk>/", order_views.order_detail, name="order_detail"),
    path("orders/<int:pk>/edit/", order_views.order_edit, name="order_edit"),
    path("orders/<int:pk>/delete/", order_views.order_delete, name="order_delete"),
    path("subscriptions/", order_views.subscription_list, name="subscription_list"),
    path("subscriptions/new/", order_views.subscription_create, name="subscription_create"),
    path("subscriptions/<int:pk>/", order_views.subscription_detail,
         name="subscription_detail"),
]
