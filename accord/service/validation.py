"""Turning plain ticket input (form, API, mail, import) into clean values.

Every bad field is named, so one answer lists everything to fix.
"""

from accord.customers import custom_fields
from accord.customers.models import Contact, Entity
from accord.customers.validation import (
    Collector,
    clean_choice,
    clean_member,
    clean_ref,
    clean_tags,
)
from accord.errors import InvalidInput
from accord.identity.models import Membership
from accord.identity.permissions import has_permission

from .models import Channel, Priority, Queue, TicketStatus

SUBJECT_LIMIT = 250
BODY_LIMIT = 200_000


def clean_subject(value, errors: Collector, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add("subject", "Give the ticket a subject.", "required")
            return None
        return ""
    if not isinstance(value, str):
        errors.add("subject", "Enter text.")
        return None
    text = " ".join(value.split())
    if "\x00" in text:
        errors.add("subject", "Remove the NUL character; it cannot be stored.")
        return None
    if len(text) > SUBJECT_LIMIT:
        errors.add("subject", f"Keep the subject under {SUBJECT_LIMIT} characters.", "too_long")
        return None
    return text


def clean_body(value, field: str, errors: Collector, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, "Write the message first.", "required")
            return None
        return ""
    if not isinstance(value, str):
        errors.add(field, "Enter text.")
        return None
    text = value.replace("\r\n", "\n").strip("\n")
    if "\x00" in text:
        errors.add(field, "Remove the NUL character; it cannot be stored.")
        return None
    if len(text) > BODY_LIMIT:
        errors.add(field, f"Keep the message under {BODY_LIMIT:,} characters.", "too_long")
        return None
    return text


def clean_agent(org, value, field: str, errors: Collector):
    """A member who may work on tickets; read-only members cannot be assigned."""
    user = clean_member(org, value, field, errors)
    if user is None:
        return None
    membership = Membership.objects.filter(user=user, is_active=True).first()
    if not has_permission(membership, "tickets.change"):
        errors.add(field, "This member's role cannot work on tickets.")
        return None
    return user


def clean_ticket(org, data: dict, *, current=None, require_custom_fields: bool = True) -> dict:
    """Validate ticket fields; only keys present in `data` are returned.

    Raises InvalidInput naming every bad field. With `current` the input is a
    partial update and custom fields merge into the stored ones. Without
    `require_custom_fields` (mail, the portal: nobody there can fill them in)
    a new ticket may leave required custom fields empty.
    """
    errors = Collector()
    out: dict = {}
    if "subject" in data or current is None:
        out["subject"] = clean_subject(data.get("subject"), errors, required=True)
    if "status" in data:
        out["status"] = clean_choice(data["status"], "status", TicketStatus, errors,
                                     blank=False)
    if "priority" in data:
        out["priority"] = clean_choice(data["priority"], "priority", Priority, errors,
                                       blank=False)
    if "channel" in data:
        out["channel"] = clean_choice(data["channel"], "channel", Channel, errors, blank=False)
    if "contact" in data:
        contact = clean_ref(Contact, data["contact"], "contact_id", errors,
                            "Choose an existing contact.", area="contacts",
                            kept=getattr(current, "contact_id", None))
        if contact is not None and (contact.deleted_at or contact.merged_into_id):
            errors.add("contact_id", "This contact is in the trash or was merged.")
        out["contact"] = contact
    if "queue" in data:
        queue = clean_ref(Queue, data["queue"], "queue_id", errors, "Choose an existing queue.")
        if queue is not None and not queue.is_active and getattr(current, "queue_id",
                                                                 None) != queue.pk:
            errors.add("queue_id", "This queue is switched off.")
        out["queue"] = queue
    if "assignee" in data:
        out["assignee"] = clean_agent(org, data["assignee"], "assignee_id", errors)
    if "tags" in data:
        out["tags"] = clean_tags(data["tags"], errors)
    if current is None and not require_custom_fields and not data.get("custom_fields"):
        out["custom_fields"] = {}
    elif "custom_fields" in data or current is None:
        try:
            out["custom_fields"] = custom_fields.clean_values(
                custom_fields.active_fields(Entity.TICKET), data.get("custom_fields") or {},
                getattr(current, "custom_fields", None), partial=current is not None,
            )
        except InvalidInput as exc:
            errors.absorb(exc)
    errors.raise_if_any()
    return out
