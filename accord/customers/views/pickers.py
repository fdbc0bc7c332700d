"""Company picker: the options of a company select, narrowed as the user types."""

from django.shortcuts import render

from accord.identity.permissions import permission_required
from accord.identity.visibility import require_visible, visible
from accord.search import search

from .. import services
from ..models import Company

PICKER_RESULTS = 50  # enough to scan by eye; typing more narrows further


@permission_required("companies.view")
def company_picker(request):
    """`?q=` searches the companies the member sees by name; `?id=` answers one of them,
    404 for any other."""
    membership = request.membership
    if request.GET.get("id"):
        companies = [require_visible(membership, services.get_company(request.GET["id"]),
                                     "companies")]
    else:
        companies = search(visible(Company.objects.all(), membership, "companies"),
                           request.GET.get("q", ""))
        companies = list(companies.order_by("name", "id")[:PICKER_RESULTS])
    selected = request.GET.get("selected", "")
    return render(request, "customers/company_picker.html",
                  {"companies": companies, "selected": selected})
