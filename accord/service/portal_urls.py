from django.urls import path

from . import portal_views as views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/<str:token>/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("articles/", views.article_list, name="articles"),
    path("articles/<int:pk>/", views.article_detail, name="article"),
]
