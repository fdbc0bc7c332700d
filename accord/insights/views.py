"""Settings → Loyalty: the organisation's points and tiers."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.identity.permissions import permission_required
from accord.web import MapsServiceErrors, save_form

from . import loyalty
from .models import LoyaltyStatus


class LoyaltyForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    is_active = forms.BooleanField(
        label=gettext_lazy("Give customers loyalty points and tiers"), required=False,
        help_text=gettext_lazy("Points and tier are shown beside each customer's orders."))
    points_per_unit = forms.DecimalField(
        label=gettext_lazy("Points per unit of the base currency spent"), min_value=0.01,
        max_value=10000, decimal_places=2)
    months = forms.IntegerField(
        label=gettext_lazy("Months of purchases counted"), min_value=0,
        max_value=loyalty.MAX_MONTHS,
        help_text=gettext_lazy("0 counts every purchase ever made."))
    tiers = forms.CharField(
        label=gettext_lazy("Tiers"), widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("One per line: a name and the points it starts at, such as "
                               "“Silver 500”. The first starts at 0."))

    def clean_tiers(self):
        try:
            return loyalty.parse_tiers(self.cleaned_data["tiers"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@permission_required("settings.manage")
def loyalty_settings(request):
    org = request.organization
    current = loyalty.program_for(org)
    form = LoyaltyForm(request.POST or None, initial={
        # Unsaved settings carry the version the first save creates, so two
        # first saves from two pages cannot both go through.
        "version": current.version, "is_active": current.is_active,
        "points_per_unit": current.points_per_unit, "months": current.months,
        "tiers": loyalty.tiers_text(current.tiers)})

    def save(form):
        data = dict(form.cleaned_data)
        version = data.pop("version")
        loyalty.update_program(org, request.user, data=data, expected_version=version)
        messages.success(request, _("Loyalty programme saved; every customer's points and "
                                    "tier were recomputed."))
        return redirect("insights:loyalty_settings")

    return save_form(request, form=form, template="insights/loyalty_settings.html", context={
        "members": LoyaltyStatus.objects.count(),
    }, save=save)
