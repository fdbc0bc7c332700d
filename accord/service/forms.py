"""Forms of the ticket pages. They check shapes only; the ticket services decide
what a value means and their InvalidInput is put next to the field it names."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accord.customers.forms import CustomFieldsMixin, members_of
from accord.identity.models import Team
from accord.web import MapsServiceErrors

from .models import (
    AssignMode,
    Channel,
    ImapSecurity,
    Priority,
    Queue,
    QueuePurpose,
    TicketStatus,
)
from .services import REPLY_STATUSES

User = get_user_model()
MAX_EML_BYTES = 25 * 1024 * 1024


def _agents(org):
    return members_of(org)


class TicketForm(CustomFieldsMixin, forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=250)
    contact_email = forms.EmailField(
        label=_("Customer e-mail"), required=False,
        help_text=_("Found among your contacts, or a new contact is made."))
    contact_name = forms.CharField(label=_("Customer name"), required=False, max_length=200,
                                   help_text=_("Only used when a new contact is made."))
    body = forms.CharField(label=_("What the customer needs"), required=False,
                           widget=forms.Textarea(attrs={"rows": 6}))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices,
                                initial=Channel.PHONE)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices,
                                 initial=Priority.NORMAL)
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none(),
                                   required=False, empty_label=_("Default queue"))
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.none(),
                                      required=False, empty_label=_("Unassigned"))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Separate tags with commas."))

    error_aliases = {"contact_id": "contact_email", "queue_id": "queue",
                     "assignee_id": "assignee"}

    def __init__(self, *args, org, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.filter(is_active=True)
        self.fields["assignee"].queryset = _agents(org)
        self.add_custom_fields(list(custom_fields), None)


class TicketFieldsForm(CustomFieldsMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(label=_("Status"), choices=TicketStatus.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none(),
                                   required=False, empty_label=_("No queue"))
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.none(),
                                      required=False, empty_label=_("Unassigned"))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Separate tags with commas."))

    error_aliases = {"queue_id": "queue", "assignee_id": "assignee"}

    def __init__(self, *args, org, ticket, tags, custom_fields=(), **kwargs):
        kwargs.setdefault("initial", {
            "version": ticket.version, "status": ticket.status, "priority": ticket.priority,
            "queue": ticket.queue_id, "assignee": ticket.assignee_id, "tags": ", ".join(tags),
        })
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.all()
        self.fields["assignee"].queryset = _agents(org)
        self.add_custom_fields(list(custom_fields), ticket.custom_fields or {})


MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; each is checked, the list is returned."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                _("Attach at most %(count)d files.") % {"count": MAX_ATTACHMENTS})
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in files]
        for upload in cleaned:
            if upload.size > MAX_ATTACHMENT_BYTES:
                raise forms.ValidationError(
                    _("%(name)s is larger than 10 MB.") % {"name": upload.name})
        return cleaned


class ReplyForm(MapsServiceErrors, forms.Form):
    KIND_CHOICES = [("reply", _("Reply to the customer")), ("note", _("Internal note"))]
    STATUS_CHOICES = [("", _("Keep the status"))] + [
        (value, label) for value, label in TicketStatus.choices if value in REPLY_STATUSES]

    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES, initial="reply",
                             widget=forms.RadioSelect)
    body = forms.CharField(label=_("Message"), required=False,
                           widget=forms.Textarea(attrs={"rows": 7}))
    attachments = MultipleFileField(label=_("Attach files"), required=False)
    status = forms.ChoiceField(label=_("Then set the status to"), choices=STATUS_CHOICES,
                               required=False)
    seen_message = forms.IntegerField(required=False, widget=forms.HiddenInput)
    send_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        # The ticket's own fields share the page and the name "status".
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("E-mail file (.eml)"))
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none(),
                                   required=False, empty_label=_("Default queue"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.filter(is_active=True)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_EML_BYTES:
            raise forms.ValidationError(_("Keep the file under 25 MB."))
        return upload


class QueueForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120)
    email_address = forms.CharField(
        label=_("E-mail address"), required=False, max_length=254,
        help_text=_("Mail sent to this address becomes tickets in this queue; replies go "
                    "out from it."))
    purpose = forms.ChoiceField(label=_("Mail to this address"), choices=QueuePurpose.choices,
                                initial=QueuePurpose.TICKETS, required=False)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False,
        empty_label=_("No team"),
        help_text=_("Its lead hears of SLA warnings when a ticket has no assignee; round "
                    "robin picks from it."))
    is_default = forms.BooleanField(label=_("New tickets land here unless a rule says "
                                            "otherwise"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    imap_host = forms.CharField(
        label=_("IMAP server"), required=False, max_length=253,
        help_text=_("To read mail from a mailbox elsewhere, every minute; leave empty when "
                    "mail comes to Accord's own listener."))
    imap_port = forms.IntegerField(label=_("IMAP port"), required=False, initial=993,
                                   min_value=1, max_value=65535)
    imap_security = forms.ChoiceField(label=_("Connection security"), required=False,
                                      choices=ImapSecurity.choices, initial=ImapSecurity.SSL)
    imap_username = forms.CharField(label=_("IMAP user name"), required=False, max_length=254)
    imap_password = forms.CharField(
        label=_("IMAP password"), required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the current one."))
    imap_folder = forms.CharField(label=_("Folder"), required=False, max_length=200,
                                  initial="INBOX")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.all()

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["team"] = data["team"].pk if data.get("team") else None
        return data


class CannedReplyForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=200)
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_('Merge fields: {{ contact.first_name }}, {{ contact.last_name }}, '
                    '{{ contact.full_name }}, {{ company.name }}, {{ ticket.number }}, '
                    '{{ ticket.subject }}, {{ agent.name }}, {{ organization.name }}; '
                    'add |default:"there" for a value that may be missing.'))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class RoutingRuleForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0,
                                  help_text=_("Rules are tried from the lowest position; the "
                                              "first that fits applies."))
    keywords = forms.CharField(label=_("Words in the subject or message"), required=False,
                               max_length=500, help_text=_("Any one of them, separated by "
                                                           "commas."))
    sender_domains = forms.CharField(label=_("Sender domains"), required=False,
                                     max_length=500)
    channels = forms.MultipleChoiceField(label=_("Channels"), choices=Channel.choices,
                                         required=False, widget=forms.CheckboxSelectMultiple)
    customer_tier = forms.CharField(label=_("Customer tier (a tag)"), required=False,
                                    max_length=60)
    set_queue = forms.ModelChoiceField(label=_("Move to queue"), queryset=Queue.objects.none(),
                                       required=False, empty_label=_("Keep the queue"))
    set_priority = forms.ChoiceField(label=_("Set priority"), required=False,
                                     choices=[("", _("Keep the priority")), *Priority.choices])
    assign = forms.ChoiceField(label=_("Assign to"), required=False, choices=[])
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=User.objects.none(),
                                   required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(),
                                  required=False, empty_label=_("The queue's team"))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["set_queue"].queryset = Queue.objects.all()
        self.fields["agent"].queryset = _agents(org)
        self.fields["team"].queryset = Team.objects.all()
        self.fields["assign"].choices = AssignMode.choices

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        for name in ("set_queue", "agent", "team"):
            data[name] = data[name].pk if data.get(name) else None
        return data


class OutreachForm(MapsServiceErrors, forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_('Merge fields: {{ contact.first_name|default:"there" }}, '
                    '{{ contact.full_name }}, {{ company.name }}, {{ organization.name }}.'))
