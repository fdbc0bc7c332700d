from django import forms
from django.utils.translation import gettext_lazy as _

from accord.identity.models import Membership
from accord.web import MapsServiceErrors

from .models import Frequency


class SaveReportForm(MapsServiceErrors, forms.Form):
    """The name and audience of a report; its definition travels beside it as parameters."""

    name = forms.CharField(label=_("Name"), max_length=120)
    is_shared = forms.BooleanField(label=_("Share with the organisation"), required=False)
    frequency = forms.ChoiceField(label=_("Send by e-mail"), choices=Frequency.choices,
                                  required=False)
    recipients = forms.TypedMultipleChoiceField(label=_("To"), coerce=int, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.unscoped.filter(organization=organization, is_active=True
                                             ).select_related("user").order_by("user__email")
        self.fields["recipients"].choices = [
            (member.user_id, member.user.full_name or member.user.email) for member in members]

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "is_shared": data["is_shared"],
                "frequency": data["frequency"], "recipients": data["recipients"]}


class DashboardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
