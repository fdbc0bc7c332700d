"""Company picker: the options of a company select, narrowed as the user types."""

from django.shortcuts import render

from accord.identity.permissions import permission_required
from accord.search import search

from .. import services
from ..models import Company

PICKER_RESULTS = 50  # enough to scan by eye; typing more narrows further


@permission_required("companies.view")
def company_picker(request):
    """`?q=` searches companies by name; `?id=` answers one company, 404 if not ours."""
    if request.GET.get("id"):
        companies = [services.get_company(request.GET["id"])]
    else:
        companies = search(Company.objects.all(), request.GET.get("q", ""))
        companies = list(companies.order_by("name", "id")[:PICKER_RESULTS])
    selected = request.GET.get("selected", "")
    return render(request, "customers/company_picker.html",
                  {"companies": companies, "selected": selected})
