from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/export.csv", views.contact_export, name="contact_export"),
    path("contacts/bulk/", views.contact_bulk, name="contact_bulk"),
    path("contacts/views/", views.contact_view_create, name="contact_view_create"),
    path("contacts/<int:pk>/", views.contact_page, name="contact_detail"),
    path("contacts/<int:pk>/duplicates/", views.contact_duplicates, name="contact_duplicates"),
    path("contacts/<int:pk>/merge/", views.contact_merge, name="contact_merge"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:pk>/consent/", views.contact_consent, name="contact_consent"),
    path("contacts/<int:pk>/affiliations/", views.contact_affiliation_add,
         name="contact_affiliation_add"),
    path("contacts/<int:pk>/affiliations/<int:affiliation_pk>/remove/",
         views.contact_affiliation_remove, name="contact_affiliation_remove"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/export.csv", views.company_export, name="company_export"),
    path("companies/bulk/", views.company_bulk, name="company_bulk"),
    path("companies/views/", views.company_view_create, name="company_view_create"),
    path("companies/picker/", views.company_picker, name="company_picker"),
    path("companies/<int:pk>/", views.company_page, name="company_detail"),
    path("companies/<int:pk>/duplicates/", views.company_duplicates, name="company_duplicates"),
    path("companies/<int:pk>/merge/", views.company_merge, name="company_merge"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company_edit"),
    path("companies/<int:pk>/delete/", views.company_delete, name="company_delete"),
    path("saved-views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("duplicates/", views.duplicate_list, name="duplicate_list"),
    path("duplicates/<int:pk>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("trash/", views.trash, name="trash"),
    path("trash/contacts/<int:pk>/restore/", views.contact_restore, name="contact_restore"),
    path("trash/companies/<int:pk>/restore/", views.company_restore, name="company_restore"),
]
