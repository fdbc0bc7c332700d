"""Every write to relationships between contacts and to the organisation's own roles.

A relationship is shown to a member only when the member may see both
contacts (`accord.identity.visibility`); one hidden side hides the whole
relationship, so it answers 404 like any record the member cannot see.
"""

import logging
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.customers.validation import Collector, as_pk, clean_date
from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion
from accord.identity.visibility import require_visible, visible

from .models import BUILTIN_ROLES, Relationship, RelationshipRole

logger = logging.getLogger(__name__)

ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
FIELDS = ["contact_id", "related_id", "role", "started_on", "ended_on", "note"]
NOTE_LIMIT = 200


def roles() -> dict[str, tuple[str, str]]:
    """Every role the organisation may use, key: (label, inverse label), built-in first."""
    out = {key: (str(label), str(inverse)) for key, (label, inverse) in BUILTIN_ROLES.items()}
    for role in RelationshipRole.objects.all():
        out[role.key] = (role.label, role.inverse_label)
    return out


def label_for(relationship: Relationship, contact: Contact,
              known: dict[str, tuple[str, str]] | None = None) -> str:
    """What the other person is to `contact`: the role, or its inverse from the other side."""
    label, inverse = (known or roles()).get(relationship.role, (relationship.role,) * 2)
    return label if relationship.contact_id == contact.pk else inverse


def other_side(relationship: Relationship, contact: Contact) -> Contact:
    return relationship.related if relationship.contact_id == contact.pk else (
        relationship.contact)


# Roles


@transaction.atomic
def save_role(org, actor, *, data: dict) -> RelationshipRole:
    """Add an organisation role with its inverse label; InvalidInput names each bad field."""
    errors = Collector()
    label = " ".join(str(data.get("label") or "").split())
    inverse = " ".join(str(data.get("inverse_label") or "").split()) or label
    key = str(data.get("key") or "").strip().lower() or re.sub(r"[^a-z0-9]+", "_",
                                                                label.lower()).strip("_")
    if not label or len(label) > 60:
        errors.add("label", "Give the role a label of at most 60 characters.")
    if len(inverse) > 60:
        errors.add("inverse_label", "Keep the inverse label under 60 characters.")
    if not ROLE_KEY.match(key):
        errors.add("key", "Use lower-case letters, digits and underscores, starting with a "
                          "letter.")
    elif key in BUILTIN_ROLES or RelationshipRole.objects.filter(key=key).exists():
        errors.add("key", "A role with this key exists already.")
    errors.raise_if_any()

    role = RelationshipRole.objects.create(organization=org, key=key, label=label,
                                           inverse_label=inverse)
    audit.record(org, actor, Action.CREATE, role, entity="relationship_role",
                 changes={"key": [None, key], "label": [None, label],
                          "inverse_label": [None, inverse]})
    return role


def role_in_use(role: RelationshipRole) -> int:
    return Relationship.objects.filter(role=role.key).count()


@transaction.atomic
def delete_role(org, actor, role: RelationshipRole, *, with_relationships: bool = False
                ) -> None:
    """Delete an organisation role; Conflict while relationships use it, unless
    `with_relationships` deletes them too."""
    used = Relationship.objects.filter(role=role.key)
    if used.exists() and not with_relationships:
        raise Conflict("Relationships use this role; end or delete them first.")

    for relationship in used:
        _purge(org, actor, relationship)
    audit.record(org, actor, Action.PURGE, role, entity="relationship_role",
                 changes={"key": [role.key, None]})
    role.delete()


def get_role(role_id) -> RelationshipRole:
    role = RelationshipRole.objects.filter(pk=as_pk(role_id) or 0).first()
    if role is None:
        raise NotFound("No relationship role with this id.")
    return role


# Relationships


def visible_relationships(membership, contact: Contact):
    """The contact's relationships in both directions whose other side the member sees."""
    seen = visible(Contact.objects.all(), membership, "contacts").values("pk")
    return (Relationship.objects
            .filter(Q(contact=contact, related__in=seen) | Q(related=contact, contact__in=seen))
            .select_related("contact", "related")
            .order_by("ended_on", "id"))


def find_relationship(relationship_id) -> Relationship:
    """The organisation's relationship with this id; NotFound for any other."""
    relationship = Relationship.objects.filter(pk=as_pk(relationship_id) or 0).first()
    if relationship is None:
        raise NotFound("No relationship with this id.")
    return relationship


def get_relationship(membership, contact: Contact, relationship_id) -> Relationship:
    """One relationship of `contact` the member may see; NotFound for any other id."""
    relationship = visible_relationships(membership, contact).filter(
        pk=as_pk(relationship_id) or 0).first()
    if relationship is None:
        raise NotFound("No relationship with this id.")
    return relationship


def _clean(org, membership, contact: Contact, data: dict, *, current=None) -> dict:
    errors = Collector()
    out: dict = {}
    if "related" in data or current is None:
        try:
            related = require_visible(membership, customers.get_contact(data.get("related")),
                                      "contacts")
        except NotFound:
            errors.add("related", "Choose a contact you can see.")
        else:
            if related.pk == contact.pk:
                errors.add("related", "A contact cannot be related to itself.")
            out["related"] = related
    if "role" in data or current is None:
        role = str(data.get("role") or "")
        if role not in roles():
            errors.add("role", "Choose one of the relationship roles.")
        out["role"] = role
    for name in ("started_on", "ended_on"):
        if name in data:
            out[name] = clean_date(data[name], name, errors)
    if "note" in data:
        note = " ".join(str(data.get("note") or "").split())
        if len(note) > NOTE_LIMIT:
            errors.add("note", f"Keep the note under {NOTE_LIMIT} characters.")
        out["note"] = note
    started = out.get("started_on", getattr(current, "started_on", None))
    ended = out.get("ended_on", getattr(current, "ended_on", None))
    if started and ended and ended < started:
        errors.add("ended_on", "The end date comes before the start date.")
    errors.raise_if_any()
    return out


@transaction.atomic
def add_relationship(org, actor, membership, contact: Contact, *, data: dict
                     ) -> Relationship:
    """Relate `data["related"]` to the contact as its `data["role"]`; InvalidInput names
    each bad field, and a contact the member cannot see is refused like a missing one."""
    values = _clean(org, membership, contact, data)
    if Relationship.objects.filter(contact=contact, related=values["related"],
                                   role=values["role"], ended_on__isnull=True).exists():
        raise InvalidInput({"related": "This relationship exists already."})

    relationship = Relationship.objects.create(organization=org, contact=contact, **values)
    audit.record(org, actor, Action.CREATE, relationship, entity="relationship",
                 changes=audit.diff({}, audit.snapshot(relationship, FIELDS)))
    logger.info("relationship.added",
                extra={"organization_id": org.id, "relationship_id": relationship.pk})
    return relationship


@transaction.atomic
def update_relationship(org, actor, membership, relationship: Relationship, *, data: dict,
                        expected_version: int | None = None) -> Relationship:
    """Change the role, dates or note; who is related is fixed (delete and add instead).
    StaleVersion when the stored version is not `expected_version`."""
    relationship = Relationship.objects.select_for_update().get(pk=relationship.pk)
    if expected_version is not None and int(expected_version) != relationship.version:
        raise StaleVersion(current_version=relationship.version)
    data = {name: value for name, value in data.items() if name != "related"}
    values = _clean(org, membership, relationship.contact, data, current=relationship)

    before = audit.snapshot(relationship, FIELDS)
    for name, value in values.items():
        setattr(relationship, name, value)
    changes = audit.diff(before, audit.snapshot(relationship, FIELDS))
    if changes:
        relationship.save_new_version()
        audit.record(org, actor, Action.UPDATE, relationship, entity="relationship",
                     changes=changes)
    return relationship


def end_relationship(org, actor, membership, relationship: Relationship, *, on=None,
                     expected_version: int | None = None) -> Relationship:
    """End the relationship today (or `on`), keeping it as history."""
    return update_relationship(org, actor, membership, relationship,
                               data={"ended_on": on or timezone.localdate()},
                               expected_version=expected_version)


@transaction.atomic
def delete_relationship(org, actor, relationship: Relationship) -> None:
    """Delete a relationship entered by mistake; ending it keeps the history instead."""
    _purge(org, actor, relationship)


def _purge(org, actor, relationship: Relationship) -> None:
    audit.record(org, actor, Action.PURGE, relationship, entity="relationship",
                 changes=audit.diff(audit.snapshot(relationship, FIELDS), {}))
    relationship.delete()
