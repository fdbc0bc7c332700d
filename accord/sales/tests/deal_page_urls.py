"""The project's URLs, with a stand-in deal page where the deal pages are not installed.

E-mails and search results link to a deal's page by its URL name. The deal
pages are their own part of the project; tests of those links run on this
URL configuration so that they need no more than the name.
"""

from django.http import HttpResponse
from django.urls import NoReverseMatch, include, path, reverse

from accord import urls as project_urls


def _deal_page(request, pk):
    return HttpResponse()


urlpatterns = list(project_urls.urlpatterns)
try:
    reverse("sales:deal", args=[1], urlconf=project_urls)
except NoReverseMatch:
    urlpatterns.append(
        path("", include(([path("deals/<int:pk>/", _deal_page, name="deal")], "sales")))
    )
