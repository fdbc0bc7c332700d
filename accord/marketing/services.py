"""Every write to segments, and who is in one.

A segment's definition is organisation-wide; the members a person is shown
are narrowed to the contacts they may see (accord.identity.visibility), so
two people can count the same segment differently.
"""

import logging

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from accord import events
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.custom_fields import hidden_keys
from accord.customers.models import Contact
from accord.customers.validation import Collector, as_pk
from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion
from accord.identity.context import acting_member
from accord.identity.visibility import visible

from .conditions import Conditions
from .models import Campaign, Segment, SegmentKind, SegmentMember

logger = logging.getLogger(__name__)

NAME_LIMIT = 120
DESCRIPTION_LIMIT = 500
FIELDS = ["name", "description", "kind", "conditions"]
FREEZE_BATCH = 500  # rows per INSERT; SQLite takes at most 999 parameters a statement


def get_segment(segment_id) -> Segment:
    """The segment of the scope's organisation with this id; NotFound otherwise, also
    when the acting member may not see it (see `visible_segments`)."""
    pk = as_pk(segment_id)
    segment = visible_segments().filter(pk=pk).first() if pk else None
    if segment is None:
        raise NotFound("No segment with this id.")
    return segment


def visible_segments() -> QuerySet:
    """The segments the acting member may see: all of them, except those whose conditions
    use a custom field hidden from the member's role.

    Such a segment's conditions and members would tell the member the hidden
    values ("income over 90,000"), so for them it does not exist. Outside a
    request or job acting for a member (the scheduler sending a campaign, the
    command line) every segment is visible.
    """
    viewer = acting_member()
    hidden = hidden_keys("contact", viewer)
    if not hidden:
        return Segment.objects.all()
    withheld = [segment.pk for segment in Segment.objects.only("pk", "conditions")
                if hidden & set(custom_keys(segment.conditions))]
    return Segment.objects.exclude(pk__in=withheld)


def custom_keys(tree) -> list[str]:
    """The keys of the custom fields a condition tree names (`cf.<key>`), in order."""
    if isinstance(tree, dict):
        found = []
        field = tree.get("field")
        if isinstance(field, str) and field.startswith("cf."):
            found.append(field[3:])
        for value in tree.values():
            if isinstance(value, dict | list):
                found.extend(custom_keys(value))
        return found
    if isinstance(tree, list):
        return [key for item in tree for key in custom_keys(item)]
    return []


def clean_segment(org, data: dict, *, current: Segment | None = None, viewer=None) -> dict:
    """Validate segment fields; only keys present in `data` are returned (all on create).

    Raises InvalidInput naming every bad field; errors in the condition tree
    are named by their place in it, such as `all[1].any[0].value`.
    """
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", "Give the segment a name.", "required")
        elif len(name) > NAME_LIMIT or "\x00" in name:
            errors.add("name", f"Keep the name under {NAME_LIMIT} characters.", "too_long")
        elif Segment.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another segment already has this name.", "duplicate")
        out["name"] = name
    if "description" in data:
        description = data.get("description") or ""
        if not isinstance(description, str) or "\x00" in description:
            errors.add("description", "Enter plain text.")
        elif len(description) > DESCRIPTION_LIMIT:
            errors.add("description",
                       f"Keep the description under {DESCRIPTION_LIMIT} characters.")
        out["description"] = description.strip() if isinstance(description, str) else ""
    if "kind" in data or current is None:
        kind = data.get("kind") or SegmentKind.DYNAMIC
        if kind not in SegmentKind.values:
            errors.add("kind", "Choose dynamic or frozen.")
        out["kind"] = kind
    if "conditions" in data or current is None:
        try:
            out["conditions"] = Conditions(org, viewer).validate(
                data.get("conditions", {"all": []}))
        except InvalidInput as exc:
            errors.absorb(exc)
    errors.raise_if_any()
    return out


def _check_version(segment: Segment, expected_version) -> None:
    if expected_version is not None and int(expected_version) != segment.version:
        raise StaleVersion(current_version=segment.version)


def _freeze(org, segment: Segment, viewer=None) -> int:
    """Replace the stored members with the contacts that match now, by the related
    records the `viewer` (the Membership freezing it, if any) sees; return how many."""
    # The list is kept, not evaluated again: a later reader sees the stored contacts
    # they may see, even one that matched through a deal hidden from that reader.
    SegmentMember.objects.filter(segment=segment).delete()
    ids = Conditions(org).contacts(segment.conditions, seen_by=(viewer,)).values_list(
        "pk", flat=True)
    batch, total = [], 0
    for contact_id in ids.order_by("pk").iterator(chunk_size=FREEZE_BATCH):
        batch.append(SegmentMember(organization=org, segment=segment, contact_id=contact_id))
        if len(batch) == FREEZE_BATCH:
            SegmentMember.objects.bulk_create(batch)
            total, batch = total + len(batch), []
    SegmentMember.objects.bulk_create(batch)
    total += len(batch)
    segment.frozen_at = timezone.now()
    logger.info("marketing.segment_frozen", extra={
        "organization_id": org.id, "segment_id": segment.pk, "members": total})
    return total


def _event_data(segment: Segment, **extra) -> dict:
    return {"name": segment.name, "kind": segment.kind, **extra}


@transaction.atomic
def create_segment(org, actor, *, data: dict, viewer=None) -> Segment:
    """Save a new segment; a frozen one takes its members at once. The `viewer` is
    the actor's Membership: its conditions may name only fields it may see."""
    values = clean_segment(org, data, viewer=viewer)

    segment = Segment.objects.create(organization=org, created_by=_user(actor), **values)
    changes = audit.diff({}, audit.snapshot(segment, FIELDS))
    if segment.is_frozen:
        changes["members"] = [None, _freeze(org, segment, viewer)]
        segment.save(update_fields=["frozen_at"])

    audit.record(org, actor, Action.CREATE, segment, changes=changes)
    events.emit(org, actor, "segment.created", segment, data=_event_data(segment))
    return segment


@transaction.atomic
def update_segment(org, actor, segment: Segment, *, data: dict,
                   expected_version: int | None = None, viewer=None) -> Segment:
    """Change a segment; StaleVersion when `expected_version` is not the stored one.

    A frozen segment whose conditions change, or a dynamic one made frozen,
    takes its members anew; one made dynamic drops its stored list.
    """
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    _check_version(segment, expected_version)
    values = clean_segment(org, data, current=segment, viewer=viewer)

    before = audit.snapshot(segment, FIELDS)
    for name, value in values.items():
        setattr(segment, name, value)
    changes = audit.diff(before, audit.snapshot(segment, FIELDS))
    if not changes:
        return segment
    if segment.is_frozen and ({"kind", "conditions"} & set(changes)):
        changes["members"] = [None, _freeze(org, segment, viewer)]
    elif "kind" in changes:
        SegmentMember.objects.filter(segment=segment).delete()
        segment.frozen_at = None
    segment.save_new_version()

    audit.record(org, actor, Action.UPDATE, segment, changes=changes)
    events.emit(org, actor, "segment.updated", segment,
                data=_event_data(segment, changed=sorted(changes)))
    return segment


@transaction.atomic
def refresh_segment(org, actor, segment: Segment, *,
                    expected_version: int | None = None, viewer=None) -> Segment:
    """Take a frozen segment's members anew from its conditions, by the related records
    the `viewer` (the actor's Membership) sees."""
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    _check_version(segment, expected_version)
    if not segment.is_frozen:
        raise InvalidInput({"kind": "Only a frozen segment can be refreshed."})
    # A tree that no longer fits the organisation (a custom field removed
    # since) is refused here rather than freezing an empty list.
    Conditions(org).validate(segment.conditions)

    before = SegmentMember.objects.filter(segment=segment).count()
    after = _freeze(org, segment, viewer)
    segment.save_new_version()

    audit.record(org, actor, Action.UPDATE, segment, changes={"members": [before, after]})
    events.emit(org, actor, "segment.updated", segment,
                data=_event_data(segment, changed=["members"]))
    return segment


@transaction.atomic
def delete_segment(org, actor, segment: Segment, *,
                   expected_version: int | None = None) -> None:
    """Delete a segment and its stored members for good; segments have no trash.

    Conflict while a campaign names it: the campaign's report would lose who
    it was for.
    """
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    _check_version(segment, expected_version)
    used_by = Campaign.objects.filter(segment=segment).count()
    if used_by:
        raise Conflict(ngettext(
            "A campaign uses this segment; delete the campaign first. A campaign that has "
            "sent e-mail cannot be deleted: its report needs the segment.",
            "%(count)d campaigns use this segment; delete them first. A campaign that has "
            "sent e-mail cannot be deleted: its report needs the segment.", used_by)
            % {"count": used_by})

    audit.record(org, actor, Action.DELETE, segment,
                 changes=audit.diff(audit.snapshot(segment, FIELDS), {}))
    events.emit(org, actor, "segment.deleted", segment, data=_event_data(segment))
    segment.delete()


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def members(org, segment: Segment, membership) -> QuerySet:
    """The segment's contacts that `membership` may see, as one query.

    A dynamic segment is evaluated now; a frozen one reads its stored list
    (minus contacts since deleted or merged). InvalidInput when a dynamic
    segment's conditions no longer fit the organisation.
    """
    if segment.is_frozen:
        stored = SegmentMember.objects.filter(organization_id=org.pk, segment=segment,
                                              contact=OuterRef("pk"))
        contacts = Contact.objects.filter(Exists(stored))
    else:
        contacts = Conditions(org).contacts(segment.conditions, seen_by=(membership,))
    return visible(contacts, membership, "contacts")


def preview_count(org, membership, tree) -> int:
    """How many contacts `membership` sees that match `tree`; InvalidInput when it is bad."""
    contacts = Conditions(org).contacts(tree, seen_by=(membership,))
    return visible(contacts, membership, "contacts").count()
