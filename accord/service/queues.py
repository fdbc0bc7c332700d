"""Writes to queues: where tickets wait and which address customers write to."""

import ipaddress
import socket

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django_scopes import scopes_disabled

from accord import crypto
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector, clean_email, clean_ref, clean_text
from accord.errors import StaleVersion
from accord.identity.models import Team

from .models import ImapSecurity, Queue, QueuePurpose

QUEUE_FIELDS = ["name", "email_address", "purpose", "team", "is_active", "is_default",
                "imap_host",
                "imap_port", "imap_security", "imap_username", "imap_folder"]


def clean_queue(data: dict, *, current: Queue | None = None) -> dict:
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = clean_text(data.get("name"), "name", errors)
        if name == "":
            errors.add("name", "Give the queue a name.", "required")
        elif name and Queue.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another queue already has this name.", "duplicate")
        out["name"] = name
    if "email_address" in data:
        address = clean_email(data["email_address"], "email_address", errors)
        if address:
            address = address.lower()
            # Addresses route mail across all organisations, so the check
            # looks beyond this one; it says only that the address is taken.
            with scopes_disabled():
                taken = (Queue.unscoped.annotate(lower=Lower("email_address"))
                         .filter(lower=address).exclude(pk=getattr(current, "pk", None))
                         .exists())
            if taken:
                errors.add("email_address", "This address already belongs to a queue.",
                           "duplicate")
        out["email_address"] = address
    if "team" in data:
        out["team"] = clean_ref(Team, data["team"], "team_id", errors, "Choose an existing team.")
    for flag in ("is_active", "is_default"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors.add(flag, "Give true or false.")
            out[flag] = bool(data[flag])
    if "purpose" in data:
        purpose = data["purpose"] or QueuePurpose.TICKETS
        if purpose not in QueuePurpose.values:
            errors.add("purpose", "Choose one of: " + ", ".join(QueuePurpose.values) + ".")
        out["purpose"] = purpose
    _clean_mailbox(data, out, current, errors)
    errors.raise_if_any()
    return out


def _private_literal(host: str) -> bool:
    """Whether `host` is written as an address (in any form the resolver takes) that
    points into a private network and is not allowed in the settings."""
    if host in {name.lower().strip("[]") for name in settings.WEBHOOK_ALLOWED_HOSTS}:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            # inet_aton also reads the short and hexadecimal forms (0x7f000001).
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return False
    return not address.is_global or address.is_multicast


def _clean_mailbox(data: dict, out: dict, current: Queue | None, errors: Collector) -> None:
    """The IMAP settings; a password left empty keeps the stored one."""
    if "imap_host" in data:
        host = (data["imap_host"] or "").strip().lower()
        if host and (len(host) > 253 or any(char in host for char in " /:@")):
            errors.add("imap_host", "Enter a host name such as imap.example.com.")
        elif host and _private_literal(host):
            errors.add("imap_host", "This address is on a private, loopback or link-local "
                                    "network; ask an administrator to list it in "
                                    "WEBHOOK_ALLOWED_HOSTS if it is meant to be reached.")
        out["imap_host"] = host
        if not host:
            # No mailbox, so nothing to sign in to: the password goes too.
            out["imap_username"], out["imap_password"] = "", ""
    if "imap_port" in data:
        try:
            port = int(data["imap_port"] or 993)
        except (TypeError, ValueError):
            port = 0
        if not 1 <= port <= 65535:
            errors.add("imap_port", "Enter a port from 1 to 65535.")
        out["imap_port"] = port
    if "imap_security" in data:
        data = {**data, "imap_security": data["imap_security"] or ImapSecurity.SSL}
        if data["imap_security"] not in ImapSecurity.values:
            errors.add("imap_security", "Choose one of: " + ", ".join(ImapSecurity.values) + ".")
        out["imap_security"] = data["imap_security"]
    if "imap_username" in data:
        out["imap_username"] = (data["imap_username"] or "").strip()[:254]
    if "imap_folder" in data:
        out["imap_folder"] = (data["imap_folder"] or "").strip()[:200] or "INBOX"
    if data.get("imap_password") and out.get("imap_host", "x"):
        out["imap_password"] = crypto.encrypt(data["imap_password"])
    host = out.get("imap_host", getattr(current, "imap_host", ""))
    if host:
        if not out.get("imap_username", getattr(current, "imap_username", "")):
            errors.add("imap_username", "Give the user name to sign in to the mailbox with.")
        if not out.get("imap_password", getattr(current, "imap_password", "")):
            errors.add("imap_password", "Give the mailbox password.")
    if "imap_host" in out and out["imap_host"] != getattr(current, "imap_host", ""):
        # Another server's UIDs mean nothing here.
        out["imap_uidvalidity"], out["imap_last_uid"] = None, 0


def _only_default(queue: Queue) -> None:
    if queue.is_default:
        Queue.objects.exclude(pk=queue.pk).filter(is_default=True).update(is_default=False)


@transaction.atomic
def create_queue(org, actor, *, data: dict) -> Queue:
    values = clean_queue(data)
    queue = Queue.objects.create(organization=org, **values)
    if not Queue.objects.exclude(pk=queue.pk).filter(is_default=True).exists():
        queue.is_default = True
        queue.save(update_fields=["is_default"])
    _only_default(queue)
    audit.record(org, actor, Action.CREATE, queue,
                 changes=audit.diff({}, audit.snapshot(queue, QUEUE_FIELDS)))
    return queue


@transaction.atomic
def update_queue(org, actor, queue: Queue, *, data: dict,
                 expected_version: int | None = None) -> Queue:
    queue = Queue.objects.select_for_update().get(pk=queue.pk)
    if expected_version is not None and int(expected_version) != queue.version:
        raise StaleVersion(current_version=queue.version)
    values = clean_queue(data, current=queue)
    before = audit.snapshot(queue, QUEUE_FIELDS)
    for name, value in values.items():
        setattr(queue, name, value)
    changes = audit.diff(before, audit.snapshot(queue, QUEUE_FIELDS))
    if not changes:
        return queue
    queue.save_new_version()
    _only_default(queue)
    audit.record(org, actor, Action.UPDATE, queue, changes=changes)
    return queue
