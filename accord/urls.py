from django.urls import include, path

from accord.api import api
from accord.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("", include("accord.core.urls")),
    path("", include("accord.identity.urls")),
    path("", include("accord.customers.urls")),
    path("", include("accord.activities.urls")),
    path("", include("accord.sales.urls")),
    path("", include("accord.audit.urls")),
    path("", include("accord.integrations.urls")),
    path("", include("accord.sales.insights_urls")),
    path("", include("accord.sales.lead_urls")),
    path("", include("accord.service.urls")),
    path("", include("accord.service.knowledge_urls")),
    path("", include("accord.commerce.urls")),
    path("", include("accord.marketing.urls")),
    path("", include("accord.insights.urls")),
    path("", include("accord.reports.urls")),
    path("", include("accord.automation.urls")),
    path("", include("accord.privacy.urls")),
    path("", include("accord.packs.urls")),
    path("", include("accord.relationships.urls")),
    path("", include("accord.records.urls")),
    path("portal/<slug:org_slug>/", include("accord.service.portal_urls")),
]
