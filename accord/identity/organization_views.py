"""Settings → Organisation: the organisation's name, currency, time zone and tax rounding."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.errors import InvalidInput
from accord.money import Rounding

from . import organization
from .models import TIME_ZONE_CHOICES
from .permissions import permission_required
from .views import add_service_errors, form_status


class OrganizationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    base_currency = forms.CharField(
        label=gettext_lazy("Base currency"), max_length=3,
        help_text=gettext_lazy("ISO 4217 code; totals, forecasts and reports are shown in it."),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"), choices=TIME_ZONE_CHOICES,
        help_text=gettext_lazy("Decides which day a deal closed on and when periods start."),
    )
    tax_rounding = forms.ChoiceField(label=gettext_lazy("Tax rounding"),
                                     choices=Rounding.choices)


@permission_required("settings.manage")
def organization_edit(request):
    org = request.organization
    initial = {field: getattr(org, field) for field in organization.FIELDS}
    form = OrganizationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            organization.update_organization(org, request.user, data=form.cleaned_data)
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The organisation's settings are saved."))
            return redirect("identity:organization_edit")
    return render(request, "identity/organization_form.html", {"form": form},
                  status=form_status(form))
