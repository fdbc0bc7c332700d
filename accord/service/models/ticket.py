from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accord.core.models import TenantModel, VersionedModel
from accord.customers.fields import CustomValuesField


class LiveTicketManager(models.Manager):
    """Hides tickets that sit in the trash."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


# Statuses in which the team still owes the customer something.
UNRESOLVED = [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD]


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEB = "web", _("Web form")
    PORTAL = "portal", _("Portal")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social media")
    API = "api", _("API")


class MessageKind(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    REPLY = "reply", _("Reply")
    NOTE = "note", _("Internal note")


class ImapSecurity(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (trusted networks only)")


class QueuePurpose(models.TextChoices):
    TICKETS = "tickets", _("Support: mail becomes tickets")
    LEADS = "leads", _("Sales: mail becomes leads")


class Queue(VersionedModel):
    """Where tickets wait for a team, with the address customers write to.

    `email_address` is unique across all organisations, not only within one:
    the mail listener learns the organisation from the address a message was
    sent to, so two organisations can never share one.
    """

    name = models.CharField(_("name"), max_length=120)
    email_address = models.EmailField(_("e-mail address"), blank=True)
    team = models.ForeignKey("identity.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("team"))
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default queue"), default=False)
    purpose = models.CharField(_("mail to this address"), max_length=8,
                               choices=QueuePurpose.choices, default=QueuePurpose.TICKETS)
    # A mailbox elsewhere that the worker reads new mail from, for teams
    # whose mail cannot be pointed at Accord's own listener.
    imap_host = models.CharField(_("IMAP server"), max_length=253, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("connection security"), max_length=8,
                                     choices=ImapSecurity.choices, default=ImapSecurity.SSL)
    imap_username = models.CharField(_("IMAP user name"), max_length=254, blank=True)
    imap_password = models.TextField(blank=True, help_text="Encrypted with accord.crypto.")
    imap_folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(default=0, editable=False)
    imap_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    imap_error = models.CharField(max_length=300, blank=True, editable=False)

    class Meta(VersionedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="queue_unique_name"),
            models.UniqueConstraint(fields=["email_address"], condition=~Q(email_address=""),
                                    name="queue_unique_address"),
        ]

    def __str__(self) -> str:
        return self.name


class TicketSequence(TenantModel):
    """The last ticket number handed out in an organisation."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="ticketsequence_unique_org"),
        ]


class Ticket(VersionedModel):
    """A customer's request and the conversation about it.

    `number` is what people quote ("#1042"); it is unique within the
    organisation. Status times are kept on the row so that views such as
    "due soon" and "breached" filter on an index.
    """

    number = models.PositiveIntegerField(_("number"))
    subject = models.CharField(_("subject"), max_length=250)
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets",
                                verbose_name=_("contact"))
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets",
                                verbose_name=_("company"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices,
                               default=Channel.EMAIL)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices,
                                default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=8, choices=TicketStatus.choices,
                              default=TicketStatus.NEW)
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="tickets", verbose_name=_("queue"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("assignee"))
    tags = models.ManyToManyField("customers.Tag", through="TicketTag", related_name="tickets")
    custom_fields = CustomValuesField(_("custom fields"), default=dict, blank=True)
    last_message_at = models.DateTimeField(_("last message"))
    last_customer_message_at = models.DateTimeField(_("last customer message"), null=True,
                                                    blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    sla_policy = models.ForeignKey("service.SlaPolicy", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("SLA policy"))
    first_response_due_at = models.DateTimeField(_("first response due"), null=True,
                                                 blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_paused_since = models.DateTimeField(null=True, blank=True, editable=False)
    sla_breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True)
    sla_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    unscoped = models.Manager()
    objects = ScopedManager(_manager_class=LiveTicketManager, organization="organization")
    with_deleted = ScopedManager(organization="organization")

    class Meta(VersionedModel.Meta):
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"],
                                    name="ticket_unique_number"),
        ]
        indexes = [
            models.Index(fields=["organization", "id"], name="ticket_org_id"),
            models.Index(fields=["organization", "status", "assignee"], name="ticket_assignee"),
            models.Index(fields=["organization", "queue", "status"], name="ticket_queue"),
            models.Index(fields=["organization", "contact"], name="ticket_contact"),
            models.Index(fields=["organization", "company"], name="ticket_company"),
            models.Index(fields=["organization", "resolution_due_at"], name="ticket_due"),
            models.Index(fields=["organization", "last_message_at"], name="ticket_recent"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("service:ticket", args=[self.number])

    @property
    def is_unresolved(self) -> bool:
        return self.status in UNRESOLVED

    def customer_tag_names(self) -> set[str]:
        """The lower-cased tags of the ticket's contact and company (a customer tier)."""
        names: set[str] = set()
        for customer in (self.contact if self.contact_id else None,
                         self.company if self.company_id else None):
            if customer is not None:
                names |= {link.tag.name.lower()
                          for link in customer.tag_links.select_related("tag")}
        return names


class TicketTag(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey("customers.Tag", on_delete=models.CASCADE,
                            related_name="ticket_links")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "ticket", "tag"],
                                    name="tickettag_unique"),
        ]
        indexes = [models.Index(fields=["organization", "tag", "ticket"], name="tickettag_tag")]


class TicketMessage(TenantModel):
    """One entry of a ticket's thread: the customer's mail, a reply or an internal note.

    Messages are only ever added, never rewritten, so two agents answering at
    the same moment both keep what they wrote. `message_id` is the Message-ID
    of the mail it came in as or went out as; a mail delivered twice finds
    its first copy by it.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    from_name = models.CharField(max_length=200, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField(_("message"), blank=True)
    body_html = models.TextField(blank=True)
    full_text = models.TextField(blank=True, help_text="The body before quoted history was "
                                 "trimmed, for mail.")
    message_id = models.CharField(max_length=250, blank=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True)
    raw = models.FileField(upload_to="mail/%Y/%m/", blank=True)
    mail_kind = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "message_id"],
                                    condition=~Q(message_id=""), name="ticketmessage_unique_id"),
        ]
        indexes = [
            models.Index(fields=["organization", "ticket", "id"], name="ticketmessage_thread"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE


class TicketAttachment(TenantModel):
    """A file that came with a message, kept in the file store."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE,
                                related_name="attachments")
    file = models.FileField(upload_to="tickets/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveIntegerField()
    content_id = models.CharField(max_length=250, blank=True)
    inline = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["organization", "message"], name="ticketattachment_msg")]

    def __str__(self) -> str:
        return self.filename


class TicketStatusChange(TenantModel):
    """A ticket's status moved; the SLA clock and reports read these."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=8, blank=True)
    to_status = models.CharField(max_length=8)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["organization", "ticket", "at"], name="ticketstatus_ticket"),
        ]


class TicketViewer(TenantModel):
    """Who has a ticket open, and whether they are typing a reply.

    Rows older than a minute mean nothing; the page refreshes its own row
    while it stays open.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="viewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    replying = models.BooleanField(default=False)
    seen_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "ticket", "user"],
                                    name="ticketviewer_unique"),
        ]


class LeadMail(TenantModel):
    """A message to a sales address, noted so that a copy delivered again is not a second
    lead."""

    message_id = models.CharField(max_length=250)
    lead = models.ForeignKey("sales.Lead", null=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "message_id"],
                                    name="leadmail_unique_id"),
        ]
