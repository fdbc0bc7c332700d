"""Forms of the template, campaign and suppression pages; the services validate again."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.web import MapsServiceErrors

from .models import EmailTemplate, Segment, SuppressionReason, TestMetric
from .services import visible_segments

HTML_HELP = _('Merge fields such as {{ contact.first_name|default:"there" }}, '
              '{{ company.name }} or {{ owner.name }}, and blocks such as '
              '{% if contact.lifecycle_stage == "customer" %}…{% endif %}. '
              "Scripts, forms and styles blocks are removed when saved.")


class TemplateForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=120)
    subject = forms.CharField(label=_("Subject"), max_length=250)
    html = forms.CharField(label=_("HTML body"), help_text=HTML_HELP,
                           widget=forms.Textarea(attrs={"rows": 14}))
    text_by_hand = forms.BooleanField(
        label=_("Write the plain-text part by hand"), required=False,
        help_text=_("Otherwise it is made from the HTML whenever you save."))
    text = forms.CharField(label=_("Plain-text part"), required=False,
                           widget=forms.Textarea(attrs={"rows": 8}))

    def service_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in
                ("name", "subject", "html", "text", "text_by_hand")}


class CampaignForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=120)
    template = forms.ModelChoiceField(label=_("E-mail template"),
                                      queryset=EmailTemplate.objects.none())
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.none(),
        help_text=_("A dynamic segment is resolved when the campaign starts; the contacts "
                    "chosen then are kept."))
    from_name = forms.CharField(label=_("From name"), max_length=120, required=False)
    from_email = forms.EmailField(label=_("From address"), max_length=254)
    scheduled_at = forms.DateTimeField(
        label=_("Send at"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave empty to keep a draft and start it by hand."))
    in_recipient_time_zone = forms.BooleanField(
        label=_("At this time of day in each recipient's time zone"), required=False,
        help_text=_("The campaign starts when the first time zone reaches the time and goes "
                    "on for a day. Contacts without a time zone get the organisation's."))
    subject_b = forms.CharField(
        label=_("Second subject to test"), max_length=250, required=False,
        help_text=_("Leave empty for no test. The template's subject is A, this one B."))
    test_percent = forms.IntegerField(
        label=_("Recipients in the test (%)"), min_value=0, max_value=100, initial=0,
        required=False,
        help_text=_("Half of them get A, half B; the others get the winner. 100 splits "
                    "everyone in two."))
    test_hours = forms.IntegerField(
        label=_("Hours before the winner is chosen"), min_value=1, max_value=168, initial=4,
        required=False)
    test_metric = forms.ChoiceField(label=_("The winner has"), choices=TestMetric.choices,
                                    initial=TestMetric.OPENS, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = EmailTemplate.objects.order_by("name")
        self.fields["segment"].queryset = visible_segments().order_by("name")

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "template": data["template"].pk,
                "segment": data["segment"].pk, "from_name": data.get("from_name") or "",
                "from_email": data["from_email"], "scheduled_at": data.get("scheduled_at"),
                "in_recipient_time_zone": data.get("in_recipient_time_zone", False),
                "subject_b": data.get("subject_b") or "",
                "test_percent": data.get("test_percent") or 0,
                "test_hours": data.get("test_hours") or 4,
                "test_metric": data.get("test_metric") or TestMetric.OPENS}


class SuppressionForm(MapsServiceErrors, forms.Form):
    address = forms.EmailField(label=_("E-mail address"), max_length=254)
    reason = forms.ChoiceField(label=_("Reason"), choices=SuppressionReason.choices,
                               initial=SuppressionReason.MANUAL)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
