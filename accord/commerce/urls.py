from django.urls import path

from . import feed_views, order_views

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
    path("settings/product-feeds/", feed_views.feed_list, name="feed_list"),
    path("settings/product-feeds/new/", feed_views.feed_create, name="feed_create"),
    path("settings/product-feeds/<int:pk>/", feed_views.feed_edit, name="feed_edit"),
    path("settings/product-feeds/<int:pk>/run", feed_views.feed_run, name="feed_run"),
    path("settings/product-feeds/<int:pk>/delete", feed_views.feed_delete,
         name="feed_delete"),
]
