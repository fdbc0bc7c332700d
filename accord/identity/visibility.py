"""Which records a member sees: their own, their team's or all, per role and area.

Every read of contacts, companies, deals, leads and custom records on behalf of a
member goes
through here: lists, exports and searches narrow their queryset with
`visible`, record pages and API handlers check one record with
`require_visible` (a hidden record answers 404, like a missing one). Roles
decide what a member may do (accord.identity.permissions); this module
decides which records they do it to.

The rules:

- Admins see every record; their row cannot be changed.
- Managers see their teams' records or all of them; a manager's "team" is
  the team they belong to plus every team they lead.
- Sales, marketing, support and read-only members see their own records,
  their teams' or all.
- "Own" means the record's owner is the member; "team" adds records whose
  owner belongs to the member's team or to a team the member leads.
- A record without an owner is seen by everyone who may see the area, so
  that unassigned work is found and picked up rather than lost.
- Every cell starts as "all", so an organisation that never opens the
  setting keeps working as before.
- An area may keep some of its records from everyone but named members,
  whatever their scope (confidential custom records): its app registers the
  rule with `restrict`. Admins still see every record.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound, NotPermitted, StaleVersion

from .models import Area, Membership, Organization, Role, Scope, Team, VisibilityPolicy

logger = logging.getLogger(__name__)

# The roles whose scope an admin sets, in the order the settings table shows them.
CONFIGURABLE_ROLES = [Role.MANAGER, Role.SALES, Role.MARKETING, Role.SUPPORT, Role.READ_ONLY]
# Managers oversee people, so "own" is not offered to them.
ROLE_SCOPES: dict[str, list[str]] = {
    role: [Scope.TEAM, Scope.ALL] if role == Role.MANAGER else list(Scope.values)
    for role in CONFIGURABLE_ROLES
}
AREAS = list(Area.values)
NOT_FOUND = {
    Area.CONTACTS: "No contact with this id.",
    Area.COMPANIES: "No company with this id.",
    Area.DEALS: "No deal with this id.",
    Area.LEADS: "No lead with this id.",
    Area.RECORDS: "No record with this id.",
}

# Kinds whose "no such id" message does not name them by their model's name.
NOT_FOUND_LABELS = {"DuplicatePair": "possible duplicate"}


# Exports whose records follow another area's: a timeline entry hangs on a
# contact, a company, a deal or a custom record; an order on its contact.
DEPENDS_ON = {
    "organisation": AREAS,
    "activities": [Area.CONTACTS, Area.COMPANIES, Area.DEALS, Area.RECORDS],
    "orders": [Area.CONTACTS],
}


# Per area: given a membership, the condition picking the restricted records
# and the condition picking those of them the member may see.
Restriction = Callable[[Membership], tuple[Q, Q]]
RESTRICTIONS: dict[str, Restriction] = {}


def restrict(area: str, rule: Restriction) -> None:
    """Keep the records `rule` restricts from members it does not name, whatever their
    role's scope; admins are not asked."""
    RESTRICTIONS[area] = rule


def policy_of(org) -> VisibilityPolicy:
    """The organisation's stored policy, or an unsaved one (version 0) saying "all" everywhere."""
    policy = VisibilityPolicy.unscoped.filter(organization_id=org.pk).first()
    if policy is None:
        policy = VisibilityPolicy(organization_id=org.pk, scopes={}, version=0)
    return policy


def table(policy: VisibilityPolicy) -> dict[str, dict[str, str]]:
    """Every configurable role's scope in every area, the missing cells filled with "all"."""
    stored = policy.scopes or {}
    return {
        role: {area: stored.get(role, {}).get(area, Scope.ALL) for area in AREAS}
        for role in CONFIGURABLE_ROLES
    }


def scope_for(membership: Membership, area: str) -> str:
    """The scope of the membership's role in `area`, read fresh on every call."""
    if area not in AREAS:
        raise ValueError(f"Unknown area {area!r}")
    if membership.role not in ROLE_SCOPES:
        return Scope.ALL
    policy = VisibilityPolicy.unscoped.filter(organization_id=membership.organization_id).first()
    if policy is None:
        return Scope.ALL
    return (policy.scopes or {}).get(membership.role, {}).get(area, Scope.ALL)


def _team_user_ids(membership: Membership):
    """A subquery of the users in the membership's team or in the teams the member leads.

    Deactivated members count: the records they still own stay with their team.
    """
    org_id = membership.organization_id
    teams = Q(team__in=Team.unscoped.filter(organization_id=org_id,
                                            lead_id=membership.user_id).values("pk"))
    if membership.team_id is not None:
        teams |= Q(team_id=membership.team_id)
    return Membership.unscoped.filter(teams, organization_id=org_id).values("user_id")


def visible(queryset: QuerySet, membership: Membership | None, area: str) -> QuerySet:
    """Narrow `queryset` (of the area's model) to the records the member may see.

    No membership sees nothing.
    """
    if membership is None:
        return queryset.none()
    scope = scope_for(membership, area)
    seen = Q()
    if scope != Scope.ALL:
        seen = Q(owner__isnull=True) | Q(owner_id=membership.user_id)
        if scope == Scope.TEAM:
            seen |= Q(owner_id__in=_team_user_ids(membership))
    rule = RESTRICTIONS.get(area)
    if rule is not None and membership.role != Role.ADMIN:
        restricted, allowed = rule(membership)
        return queryset.filter((~restricted & seen) | (restricted & allowed))
    return queryset.filter(seen) if seen else queryset


def owners_seen(membership: Membership, area: str) -> QuerySet | None:
    """The users whose records in `area` the member sees by ownership, as a subquery of
    user ids, or None when the member sees everyone's.

    For figures kept per person beside the records, such as sales quotas.
    """
    scope = scope_for(membership, area)
    if scope == Scope.ALL:
        return None
    mine = Q(pk=membership.pk)
    if scope == Scope.TEAM:
        mine |= Q(user_id__in=_team_user_ids(membership))
    return Membership.unscoped.filter(mine).values("user_id")


def narrows(membership: Membership, area: str) -> bool:
    """Whether `visible` leaves out any of the area's records for the member."""
    if scope_for(membership, area) != Scope.ALL:
        return True
    return area in RESTRICTIONS and membership.role != Role.ADMIN


def with_seen(queryset: QuerySet, membership: Membership | None, field: str,
              area: str) -> QuerySet:
    """Annotate each row with `<field>_seen`: whether the member sees the record of `area`
    that the row's `field` links to (true when the link is empty).

    For pages that name a linked record: one hidden from the member is named by its
    kind alone. The answer is part of the row's own query, so a list page costs no
    query per row. No membership sees nothing.
    """
    name = f"{field}_seen"
    if membership is not None and not narrows(membership, area):
        return queryset.annotate(**{name: Value(True, output_field=BooleanField())})
    model = queryset.model._meta.get_field(field).related_model
    linked = visible(model._base_manager.filter(pk=OuterRef(f"{field}_id")), membership, area)
    seen = Q(**{f"{field}_id__isnull": True}) | Exists(linked)
    return queryset.annotate(**{name: ExpressionWrapper(seen, output_field=BooleanField())})


def through_contact(queryset: QuerySet, membership: Membership | None, *,
                    also: Q | None = None) -> QuerySet:
    """Narrow records that belong to a contact (tickets, orders, subscriptions, activities)
    to those a member may see: records of no contact, of contacts the member may see,
    and those `also` matches.

    Such records follow their contact's visibility, so a member who may not
    see a contact does not meet them through a ticket or an order either.
    """
    from accord.customers.models import Contact

    if membership is None:
        return queryset.none()
    if scope_for(membership, "contacts") == Scope.ALL:
        return queryset
    contacts = visible(Contact.objects.all(), membership, "contacts").values("pk")
    seen = Q(contact__isnull=True) | Q(contact__in=contacts)
    if also is not None:
        seen |= also
    return queryset.filter(seen)


def through_records(queryset: QuerySet, membership: Membership | None) -> QuerySet:
    """Narrow timeline entries (activities) to those a member may see: entries whose every
    record (contact, company, deal, custom record) the member sees, and the member's own
    entries and tasks (written by or assigned to them).

    A note on a contact the member may not see is as hidden as the contact; so is a
    system entry about it, whoever set the entry off.
    """
    from accord.activities.models import Kind
    from accord.customers.models import Company, Contact
    from accord.records.models import Record
    from accord.sales.models import Deal

    if membership is None:
        return queryset.none()
    hangs_on = {"contact": (Contact, Area.CONTACTS), "company": (Company, Area.COMPANIES),
                "deal": (Deal, Area.DEALS), "custom_record": (Record, Area.RECORDS)}
    seen = Q()
    for field, (model, area) in hangs_on.items():
        if narrows(membership, area):
            records = visible(model.objects.all(), membership, area).values("pk")
            seen &= Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__in": records})
    if not seen:
        return queryset
    # A system entry is about its records, not written by the member who set
    # it off ("Contact created" for a contact since handed on), so it stays
    # only with them.
    mine = ((Q(author_id=membership.user_id) | Q(assignee_id=membership.user_id))
            & ~Q(kind=Kind.SYSTEM))
    return queryset.filter(seen | mine)


def through_audit(queryset: QuerySet, membership: Membership | None) -> QuerySet:
    """Narrow audit entries to those a member may read: entries about a contact, company,
    deal, lead, ticket, timeline entry, order, subscription or custom record only when the
    member sees that record (deleted ones included); entries about a relationship only
    when the member sees both its contacts, and about a sequence enrolment only when they
    see its contact (for both, while the row is kept); entries about a saved report or a
    dashboard only when it is the member's own or a shared report, or when the member
    wrote the entry; entries about a custom field definition only when its field is not
    hidden from the member's role; every other entry as it is.

    An entry names its record and holds its changed values, so it is as hidden as the
    record, or as the contacts it names. A private report's definition may name a
    contact the reader may not see (an e-mail address in a condition), so its entries
    are its owner's; a deleted report's are its actor's. A hidden field's definition
    names what the field holds (its key and label), so for such a role it is not there,
    as on every other page. Admins read every entry.
    """
    from accord.activities.models import Activity
    from accord.commerce.models import Order, Subscription
    from accord.customers.models import Company, Contact
    from accord.marketing.sequence_models import Enrolment
    from accord.records.models import Record
    from accord.relationships.models import Relationship
    from accord.reports.models import Dashboard, SavedReport
    from accord.sales.models import Deal, Lead
    from accord.service.models import Ticket

    if membership is None:
        return queryset.none()
    if membership.role == Role.ADMIN:
        return queryset
    org_id = membership.organization_id
    kinds = {"contact": Contact, "company": Company, "deal": Deal, "lead": Lead,
             "record": Record, "activity": Activity}
    if narrows(membership, Area.CONTACTS):
        kinds |= {"ticket": Ticket, "order": Order, "subscription": Subscription,
                  "relationship": Relationship, "enrolment": Enrolment}
    hidden = Q()
    for entity, model in kinds.items():
        area = _areas().get(model)
        if area is not None and not narrows(membership, area):
            continue
        # Deleted records count too: their entries stay as hidden as they were.
        seen = narrow(model._base_manager.filter(organization_id=org_id), membership)
        named = Q(entity=entity)
        if entity == "record":  # custom records are logged as "record:<type key>" too
            named |= Q(entity__startswith="record:")
        hidden |= named & ~Q(object_id__in=seen.values("pk"))
    hidden |= _hidden_definitions(membership)
    mine = Q(owner_id=membership.user_id)
    reports = SavedReport.unscoped.filter(mine | Q(is_shared=True), organization_id=org_id)
    dashboards = Dashboard.unscoped.filter(mine, organization_id=org_id)
    written = Q(actor_id=membership.user_id)
    for entity, seen in (("savedreport", reports), ("dashboard", dashboards)):
        hidden |= Q(entity=entity) & ~Q(object_id__in=seen.values("pk")) & ~written
    return queryset.exclude(hidden)


def _hidden_definitions(membership: Membership) -> Q:
    """Audit entries about custom field definitions (of contacts, companies, deals,
    tickets and custom record types) hidden from the member's role.

    Whether a field is hidden is a list in a JSON column, which SQLite cannot
    match in a query, so the few definitions are read and matched here. A
    definition deleted since keeps the last setting its audit entries recorded.
    """
    from accord.audit.models import AuditEntry
    from accord.customers.models import CustomField
    from accord.records.models import RecordField

    org_id, role = membership.organization_id, membership.role
    hidden = Q()
    for entity, model in (("custom_field", CustomField), ("record_field", RecordField)):
        fields = model._base_manager.filter(organization_id=org_id)
        ids = {pk for pk, roles in fields.values_list("pk", "hidden_from_roles")
               if role in (roles or [])}
        settings = (AuditEntry.unscoped.filter(organization_id=org_id, entity=entity,
                                               changes__has_key="hidden_from_roles")
                    .exclude(object_id__in=fields.values("pk")).order_by("pk")
                    .values_list("object_id", "changes"))
        last: dict[int, list] = {}
        for object_id, changes in settings:
            last[object_id] = changes["hidden_from_roles"][1]  # [old, new]
        ids |= {pk for pk, roles in last.items() if role in (roles or [])}
        if ids:
            hidden |= Q(entity=entity, object_id__in=ids)
    return hidden


def can_see(membership: Membership | None, record, area: str) -> bool:
    """Whether the member may see `record` (a row of the area's model)."""
    if membership is None:
        return False
    if area in RESTRICTIONS and membership.role != Role.ADMIN:
        return visible(type(record)._base_manager.filter(pk=record.pk), membership,
                       area).exists()
    scope = scope_for(membership, area)
    if scope == Scope.ALL or record.owner_id is None or record.owner_id == membership.user_id:
        return True
    if scope == Scope.OWN:
        return False
    return _team_user_ids(membership).filter(user_id=record.owner_id).exists()


def sees(membership: Membership | None, record) -> bool:
    """Whether the member may see `record`, whatever its kind.

    Contacts, companies, deals, leads and custom records follow their area's
    rule; tickets, orders, subscriptions and sequence enrolments follow their
    contact (a ticket is also seen by its assignee); a timeline entry follows
    every record it hangs on; a possible-duplicate pair follows both its
    records, and a relationship both its contacts. Other kinds (pipelines,
    rules, products, ...) keep no per-record visibility and are seen by every
    member. No membership sees nothing.
    """
    if membership is None:
        return False
    model = type(record)._meta.concrete_model
    if model in _areas():
        return can_see(membership, record, _areas()[model])
    if model not in _narrowers():
        return True
    return narrow(model._base_manager.filter(pk=record.pk), membership).exists()


def follows_visibility(model) -> bool:
    """Whether records of `model` are seen per record (see `sees`)."""
    model = model._meta.concrete_model
    return model in _areas() or model in _narrowers()


def narrow(queryset: QuerySet, membership: Membership | None) -> QuerySet:
    """Narrow a queryset of any kind to the rows the member sees, by the rules of `sees`;
    kinds without per-record visibility come back whole."""
    if membership is None:
        return queryset.none()
    model = queryset.model._meta.concrete_model
    if model in _areas():
        return visible(queryset, membership, _areas()[model])
    narrower = _narrowers().get(model)
    return queryset if narrower is None else narrower(queryset, membership)


def _areas() -> dict:
    from accord.customers.models import Company, Contact
    from accord.records.models import Record
    from accord.sales.models import Deal, Lead

    return {Contact: Area.CONTACTS, Company: Area.COMPANIES, Deal: Area.DEALS,
            Lead: Area.LEADS, Record: Area.RECORDS}


def _narrowers() -> dict:
    from accord.activities.models import Activity
    from accord.commerce.models import Order, Subscription
    from accord.customers.duplicates import visible_pairs
    from accord.customers.models import Contact, DuplicatePair
    from accord.marketing.sequence_models import Enrolment
    from accord.relationships.models import Relationship
    from accord.service.models import Ticket
    from accord.service.queries import visible_tickets

    def both_contacts(queryset, membership):
        contacts = visible(Contact.objects.all(), membership, Area.CONTACTS).values("pk")
        return queryset.filter(contact__in=contacts, related__in=contacts)

    return {
        Ticket: visible_tickets, Order: through_contact, Subscription: through_contact,
        Enrolment: through_contact, Activity: through_records, DuplicatePair: visible_pairs,
        Relationship: both_contacts,
    }


def require_seen(membership: Membership | None, record):
    """Return `record` when the member sees it (`sees`); raise NotFound otherwise, with
    the message an id that does not exist gets."""
    if not sees(membership, record):
        label = NOT_FOUND_LABELS.get(type(record).__name__, record._meta.verbose_name)
        raise NotFound(f"No {label} with this id.")
    return record


def require_visible(membership: Membership | None, record, area: str):
    """Return `record` when the member may see it; raise NotFound otherwise."""
    if not can_see(membership, record, area):
        raise NotFound(NOT_FOUND[area])
    return record


def sees_all_records(membership: Membership | None, entity: str) -> bool:
    """Whether the member sees every record an export job of `entity` would copy."""
    areas = DEPENDS_ON.get(entity, [area for area in AREAS if area == entity])
    return membership is not None and all(scope_for(membership, area) == Scope.ALL
                                          for area in areas)


def require_all_records(membership: Membership | None, entity: str) -> None:
    """Raise NotPermitted unless the member sees every record `entity` exports.

    For export jobs: they run in the background and copy a whole area (or,
    for "organisation", every area), so a member who sees only some records
    exports from the list instead, which is narrowed like every other list.
    Names that are no area are left to the export to refuse.
    """
    if not sees_all_records(membership, entity):
        raise NotPermitted("Your role sees only some of these records; export them from "
                           "the list instead.")


def _clean(current: dict[str, dict[str, str]], changes: dict) -> dict[str, dict[str, str]]:
    """The table with `changes` ({role: {area: scope}}) applied; InvalidInput names bad cells."""
    errors: dict[str, str] = {}
    result = {role: dict(cells) for role, cells in current.items()}
    if not isinstance(changes, dict):
        raise InvalidInput({"roles": "Give a scope per role and area."})
    for role, cells in changes.items():
        if role == Role.ADMIN:
            errors[f"roles.{role}"] = "Admins always see every record."
            continue
        if role not in ROLE_SCOPES:
            errors[f"roles.{role}"] = "There is no role with this name."
            continue
        if not isinstance(cells, dict):
            errors[f"roles.{role}"] = "Give a scope per area."
            continue
        for area, scope in cells.items():
            field = f"roles.{role}.{area}"
            if area not in AREAS:
                errors[field] = "There is no area with this name."
            elif scope not in ROLE_SCOPES[role]:
                errors[field] = ("Managers see at least their teams' records."
                                 if role == Role.MANAGER and scope == Scope.OWN
                                 else "Choose own, team or all.")
            else:
                result[role][area] = scope
    if errors:
        raise InvalidInput(errors)
    return result


@transaction.atomic
def update_visibility(org, actor, *, roles: dict,
                      expected_version: int | None = None) -> VisibilityPolicy:
    """Set the scope of the given cells ({role: {area: scope}}); the others stay.

    Raises InvalidInput for a bad role, area or scope and StaleVersion when
    `expected_version` is not the stored one (0 before the first save). The
    change is audited and applies to the very next request.
    """
    # The organisation row serialises the first save, which creates the policy.
    Organization.objects.select_for_update().get(pk=org.pk)
    policy = policy_of(org)
    if expected_version is not None and int(expected_version) != policy.version:
        raise StaleVersion(current_version=policy.version)
    before = table(policy)
    after = _clean(before, roles)

    changes = {
        f"{role}.{area}": [before[role][area], after[role][area]]
        for role in CONFIGURABLE_ROLES for area in AREAS
        if before[role][area] != after[role][area]
    }
    if not changes:
        return policy
    policy.scopes = after
    if policy.pk is None:
        policy.version = 1
        policy.save()
    else:
        policy.save_new_version()
    audit.record(org, actor, Action.UPDATE, policy, entity="visibility",
                 object_repr="Record visibility", changes=changes)
    logger.info("identity.visibility_changed",
                extra={"organization_id": org.id, "cells": len(changes)})
    return policy
