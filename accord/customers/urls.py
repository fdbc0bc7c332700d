from django.urls import path

from accord.core.views import pending

app_name = "customers"
urlpatterns = [
    path("contacts/", pending, name="contact_list"),
    path("contacts/<int:pk>/", pending, name="contact_detail"),
    path("companies/", pending, name="company_list"),
    path("companies/<int:pk>/", pending, name="company_detail"),
    path("trash/", pending, name="trash"),
]
