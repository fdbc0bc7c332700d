"""Every write to pipelines, stages and deals, as verbs.

Each service takes the organisation and the acting user first, writes the
change, its audit entry and its domain events in one transaction, and
checks `expected_version` where the caller saw a version. A deal's stage
changes only through `move_deal_to_stage`, so the board, the form, the API
and imports all leave the same history.
"""

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accord import events, search
from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import may_link
from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion
from accord.identity.context import acting_member
from accord.identity.visibility import can_see, visible
from accord.money import Line, document_totals, quantize
from accord.timezones import zone_named

from .models import (
    Deal,
    DealContact,
    DealStatus,
    ExchangeRate,
    LineItem,
    Pipeline,
    Quota,
    Stage,
    StageChange,
    StageKind,
)
from .validation import clean_date, clean_deal, clean_decimal, member

logger = logging.getLogger(__name__)

DEAL_FIELDS = [
    "name", "pipeline", "stage", "amount", "currency", "expected_close_date", "owner",
    "company", "source", "forecast_category", "next_step", "description", "custom_fields",
    "closed_on", "close_reason",
]
STAGE_FIELDS = ["name", "position", "kind", "probability", "rot_after_days", "reason_required"]
DEFAULT_STAGES = [  # a pipeline nobody described gets the stages most teams start with
    {"name": "Qualification", "probability": 10},
    {"name": "Meeting", "probability": 25},
    {"name": "Proposal", "probability": 50},
    {"name": "Negotiation", "probability": 75},
    {"name": "Won", "probability": 100, "kind": StageKind.WON},
    {"name": "Lost", "probability": 0, "kind": StageKind.LOST},
]


def _deal_search_text(deal: Deal) -> str:
    # The company is left out: lists match it through the companies the reader
    # sees (`customers.queries.search_with_company`), so a hidden company's name
    # finds no deal.
    return search.build_search_text(deal.name, deal.source, deal.next_step)


search.register(
    Deal, "deals", text_of=_deal_search_text,
    live=lambda deals: deals.filter(deleted_at__isnull=True),
)


def _pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def get_pipeline(pipeline_id) -> Pipeline:
    pipeline = Pipeline.objects.filter(pk=_pk(pipeline_id)).first()
    if pipeline is None:
        raise NotFound("No pipeline with this id.")
    return pipeline


def get_stage(stage_id) -> Stage:
    stage = Stage.objects.select_related("pipeline").filter(pk=_pk(stage_id)).first()
    if stage is None:
        raise NotFound("No stage with this id.")
    return stage


def get_deal(deal_id, *, with_deleted: bool = False) -> Deal:
    manager = Deal.with_deleted if with_deleted else Deal.objects
    deal = (manager.select_related("pipeline", "stage", "owner", "company")
            .filter(pk=_pk(deal_id)).first())
    if deal is None:
        raise NotFound("No deal with this id.")
    return deal


def default_pipeline() -> Pipeline | None:
    """The organisation's default pipeline, else its first active one."""
    pipelines = Pipeline.objects.filter(is_active=True)
    return pipelines.filter(is_default=True).first() or pipelines.first()


def _check_version(record, expected_version) -> None:
    if expected_version is not None and int(expected_version) != record.version:
        raise StaleVersion(current_version=record.version)


# Pipelines and stages


def _clean_stage(data: dict, errors: list, prefix: str, *, partial: bool = False) -> dict:
    values: dict = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.append({"field": f"{prefix}name", "message": "Give the stage a name."})
        elif len(name) > 120:
            errors.append({"field": f"{prefix}name", "message": "Use at most 120 characters."})
        values["name"] = name
    if "kind" in data or not partial:
        kind = data.get("kind") or StageKind.OPEN
        if kind not in StageKind.values:
            errors.append({"field": f"{prefix}kind",
                           "message": "Choose one of: open, won, lost."})
        values["kind"] = kind
    if "probability" in data or not partial:
        default = {"won": 100, "lost": 0}.get(values.get("kind"), 0)
        raw = data.get("probability", default)
        field_errors: dict = {}
        probability = clean_decimal(default if raw in (None, "") else raw, "probability",
                                    field_errors, minimum=0, maximum=100, places=0)
        if field_errors:
            errors.append({"field": f"{prefix}probability",
                           "message": "Enter a whole percentage from 0 to 100."})
        values["probability"] = int(probability or 0)
        fixed = {StageKind.WON: 100, StageKind.LOST: 0}.get(values.get("kind"))
        if fixed is not None and values["probability"] != fixed:
            errors.append({"field": f"{prefix}probability",
                           "message": f"A {values['kind']} stage has a probability of "
                                      f"{fixed} %."})
    if "rot_after_days" in data:
        raw = data.get("rot_after_days")
        field_errors = {}
        days = clean_decimal(raw, "rot_after_days", field_errors, minimum=1, maximum=3650,
                             places=0)
        if field_errors:
            errors.append({"field": f"{prefix}rot_after_days",
                           "message": "Enter a number of days from 1 to 3650, or leave empty."})
        values["rot_after_days"] = int(days) if days is not None else None
    if "reason_required" in data:
        values["reason_required"] = bool(data["reason_required"])
    return values


def _check_stage_kinds(kinds: list[str], errors: list) -> None:
    for kind, label in ((StageKind.OPEN, "an open"), (StageKind.WON, "a won"),
                        (StageKind.LOST, "a lost")):
        if kind not in kinds:
            errors.append({"field": "stages",
                           "message": f"A pipeline needs at least {label} stage."})


@transaction.atomic
def create_pipeline(org, actor, *, name: str, stages: list[dict] | None = None,
                    is_default: bool = False) -> Pipeline:
    """A pipeline with its stages in the given order; InvalidInput names each bad value."""
    errors: list[dict] = []
    name = str(name or "").strip()
    if not name:
        errors.append({"field": "name", "message": "Give the pipeline a name."})
    elif len(name) > 120:
        errors.append({"field": "name", "message": "Use at most 120 characters."})
    elif Pipeline.objects.filter(name__iexact=name).exists():
        errors.append({"field": "name", "message": "A pipeline with this name exists."})
    cleaned = [_clean_stage(stage, errors, f"stages.{index}.")
               for index, stage in enumerate(stages or DEFAULT_STAGES)]
    names = [stage["name"].lower() for stage in cleaned]
    if len(set(names)) != len(names):
        errors.append({"field": "stages", "message": "Two stages have the same name."})
    _check_stage_kinds([stage["kind"] for stage in cleaned], errors)
    if errors:
        raise InvalidInput(errors)

    first = not Pipeline.objects.exists()
    position = (Pipeline.objects.aggregate(top=Max("position"))["top"] or 0) + 1
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline = Pipeline.objects.create(organization=org, name=name, position=position,
                                       is_default=is_default or first)
    for index, values in enumerate(cleaned):
        Stage.objects.create(organization=org, pipeline=pipeline, position=index, **values)
    audit.record(org, actor, Action.CREATE, pipeline, changes={
        "name": [None, name], "stages": [None, [stage["name"] for stage in cleaned]],
    })
    logger.info("pipeline.created",
                extra={"organization_id": org.id, "pipeline_id": pipeline.pk})
    return pipeline


@transaction.atomic
def update_pipeline(org, actor, pipeline: Pipeline, *, data: dict,
                    expected_version: int | None = None) -> Pipeline:
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    _check_version(pipeline, expected_version)
    before = audit.snapshot(pipeline, ["name", "is_default", "is_active"])
    errors: list[dict] = []
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 120:
            errors.append({"field": "name", "message": "Give the pipeline a name of at most "
                                                       "120 characters."})
        elif Pipeline.objects.filter(name__iexact=name).exclude(pk=pipeline.pk).exists():
            errors.append({"field": "name", "message": "A pipeline with this name exists."})
        pipeline.name = name
    if "is_active" in data:
        pipeline.is_active = bool(data["is_active"])
        if not pipeline.is_active and pipeline.is_default:
            errors.append({"field": "is_active",
                           "message": "Make another pipeline the default first."})
    if data.get("is_default"):
        if not pipeline.is_active:
            errors.append({"field": "is_default",
                           "message": "An inactive pipeline cannot be the default."})
        Pipeline.objects.exclude(pk=pipeline.pk).update(is_default=False)
        pipeline.is_default = True
    if errors:
        raise InvalidInput(errors)

    changes = audit.diff(before, audit.snapshot(pipeline, ["name", "is_default", "is_active"]))
    if changes:
        pipeline.save_new_version()
        audit.record(org, actor, Action.UPDATE, pipeline, changes=changes)
    return pipeline


@transaction.atomic
def add_stage(org, actor, pipeline: Pipeline, *, data: dict) -> Stage:
    """A new stage, placed at `data["position"]` (0-based) or before the closed stages."""
    errors: list[dict] = []
    values = _clean_stage(data, errors, "")
    if values.get("name") and pipeline.stages.filter(name__iexact=values["name"]).exists():
        errors.append({"field": "name", "message": "This pipeline has a stage with this name."})
    if errors:
        raise InvalidInput(errors)

    stages = list(pipeline.stages.select_for_update().order_by("position", "id"))
    position = data.get("position")
    if position in (None, ""):
        open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
        position = (stages.index(open_stages[-1]) + 1) if open_stages else 0
    position = max(0, min(int(position), len(stages)))
    stage = Stage(organization=org, pipeline=pipeline, **values)
    stages.insert(position, stage)
    _renumber(stages)
    audit.record(org, actor, Action.CREATE, stage, changes=audit.diff(
        {}, audit.snapshot(stage, STAGE_FIELDS)))
    return stage


def _renumber(stages: list[Stage]) -> None:
    for index, stage in enumerate(stages):
        if stage.pk is None:
            stage.position = index
            stage.save()
        elif stage.position != index:
            Stage.objects.filter(pk=stage.pk).update(position=index)
            stage.position = index


@transaction.atomic
def update_stage(org, actor, stage: Stage, *, data: dict,
                 expected_version: int | None = None) -> Stage:
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    _check_version(stage, expected_version)
    errors: list[dict] = []
    values = _clean_stage(data, errors, "", partial=True)
    if values.get("name") and (stage.pipeline.stages.filter(name__iexact=values["name"])
                               .exclude(pk=stage.pk).exists()):
        errors.append({"field": "name", "message": "This pipeline has a stage with this name."})
    if "kind" in values and values["kind"] != stage.kind:
        if stage.deals.exists():
            errors.append({"field": "kind", "message": "Move the deals out of this stage "
                                                       "before changing its kind."})
        kinds = list(stage.pipeline.stages.exclude(pk=stage.pk).values_list("kind", flat=True))
        _check_stage_kinds([*kinds, values["kind"]], errors)
    if errors:
        raise InvalidInput(errors)

    before = audit.snapshot(stage, STAGE_FIELDS)
    for field, value in values.items():
        setattr(stage, field, value)
    changes = audit.diff(before, audit.snapshot(stage, STAGE_FIELDS))
    if changes:
        stage.save_new_version()
        audit.record(org, actor, Action.UPDATE, stage, changes=changes)
    return stage


@transaction.atomic
def reorder_stages(org, actor, pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    """Put the pipeline's stages in the order of `stage_ids`, which must name each once."""
    stages = {stage.pk: stage for stage in pipeline.stages.select_for_update()}
    try:
        ordered = [stages[int(pk)] for pk in stage_ids]
    except (KeyError, TypeError, ValueError):
        ordered = []
    if len(ordered) != len(stages) or len(set(stage_ids)) != len(stages):
        raise InvalidInput({"stages": "List every stage of this pipeline exactly once."})
    before = [stage.name for stage in sorted(stages.values(), key=lambda s: s.position)]
    _renumber(ordered)
    after = [stage.name for stage in ordered]
    if before != after:
        audit.record(org, actor, Action.UPDATE, pipeline, changes={"stages": [before, after]})
    return ordered


@transaction.atomic
def delete_stage(org, actor, stage: Stage, *, move_to: Stage | None = None) -> int:
    """Delete a stage, first moving its deals to `move_to`; returns how many moved.

    Conflict when deals sit in the stage and no `move_to` is given, so that
    no deal is left without a stage; InvalidInput when the pipeline would
    lose its last open, won or lost stage.
    """
    stage = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    errors: list[dict] = []
    kinds = list(stage.pipeline.stages.exclude(pk=stage.pk).values_list("kind", flat=True))
    _check_stage_kinds(kinds, errors)
    if errors:
        raise InvalidInput(errors)
    deals = list(Deal.with_deleted.filter(stage=stage).values_list("pk", flat=True))
    if deals and move_to is None:
        raise Conflict(
            f"{len(deals)} deal(s) are in this stage. Choose a stage to move them to first."
        )
    if move_to is not None and (move_to.pk == stage.pk
                                or move_to.pipeline_id != stage.pipeline_id):
        raise InvalidInput({"move_to": "Choose another stage of the same pipeline."})
    if move_to is not None and move_to.is_closed and stage.kind == StageKind.OPEN:
        # Winning and losing have their own checks (amount, customer, reason);
        # deals swept along with a deleted stage must not skip them.
        raise InvalidInput({"move_to": "Move the deals to an open stage; win or lose them "
                                       "one by one."})

    for deal_id in deals:
        deal = Deal.with_deleted.get(pk=deal_id)
        move_deal_to_stage(org, actor, deal, move_to, reason=deal.close_reason,
                           enforce_requirements=False)
    audit.record(org, actor, Action.DELETE, stage, changes={
        "name": [stage.name, None], "deals_moved": [None, len(deals)],
    })
    remaining = [s for s in stage.pipeline.stages.order_by("position", "id") if s.pk != stage.pk]
    stage.delete()
    _renumber(remaining)
    return len(deals)


# Deals


@transaction.atomic
def create_deal(org, actor, *, data: dict) -> Deal:
    """A new deal in the given stage, else the first stage of the default pipeline.

    Contacts come as `contacts: [{"contact": id, "role": str}]`, line items
    as `line_items: [...]` (see `set_line_items`). Raises InvalidInput.
    """
    values = clean_deal(org, data)
    stage = values.pop("stage", None)
    if stage is None:
        pipeline = (get_pipeline(data["pipeline"]) if data.get("pipeline")
                    else default_pipeline())
        if pipeline is None:
            raise InvalidInput({"pipeline": "Create a pipeline first."})
        stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first()
    elif data.get("pipeline") and _pk(data["pipeline"]) != stage.pipeline_id:
        raise InvalidInput({"stage": "This stage belongs to another pipeline."})
    contacts = _clean_contacts(data.get("contacts"))
    lines = (_clean_lines(data["line_items"], values.get("currency") or org.base_currency)
             if data.get("line_items") else None)
    if stage.is_closed:
        raise InvalidInput({"stage": "Create the deal in an open stage, then win or lose it."})
    if not stage.pipeline.is_active:
        raise InvalidInput({"pipeline": "This pipeline is switched off; choose an active one."})

    now = timezone.now()
    values.setdefault("currency", org.base_currency)
    deal = Deal(organization=org, pipeline=stage.pipeline, stage=stage, status=DealStatus.OPEN,
                stage_entered_at=now, last_activity_at=now, **values)
    if "owner" not in values and getattr(actor, "pk", None):
        deal.owner = actor
    deal.save()
    StageChange.objects.create(organization=org, deal=deal, to_stage=stage,
                               to_stage_name=stage.name, changed_at=now,
                               changed_by=_user(actor), amount=deal.amount,
                               currency=deal.currency)
    for contact, role in contacts:
        DealContact.objects.create(organization=org, deal=deal, contact=contact, role=role)
    if lines is not None:
        _write_lines(org, deal, lines)
    search.reindex(Deal, [deal.pk])

    audit.record(org, actor, Action.CREATE, deal,
                 changes=audit.diff({}, audit.snapshot(deal, DEAL_FIELDS)))
    events.emit(org, actor, "deal.created", deal, data=_event_data(deal))
    timeline.log_event(org, actor, "deal.created", company=deal.company, deal=deal,
                       data={"deal": deal.name})
    logger.info("deal.created", extra={"organization_id": org.id, "deal_id": deal.pk})
    return deal


@transaction.atomic
def update_deal(org, actor, deal: Deal, *, data: dict,
                expected_version: int | None = None) -> Deal:
    """Change a deal's fields; a new `stage` is moved through `move_deal_to_stage`.

    StaleVersion when someone saved since `expected_version`.
    """
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    _check_version(deal, expected_version)
    values = clean_deal(org, data, current=deal)
    stage = values.pop("stage", None)
    contacts = (_clean_contacts(data["contacts"], kept=_contact_ids(deal)) if "contacts" in data
                else None)

    before = audit.snapshot(deal, DEAL_FIELDS)
    for field, value in values.items():
        setattr(deal, field, value)
    if values.get("amount_overridden") is False:
        deal.amount = _lines_total(deal)
    changes = audit.diff(before, audit.snapshot(deal, DEAL_FIELDS))
    if contacts is not None:
        before_links = _contact_links(deal)
        # The member's list cannot name contacts hidden from them (the API
        # leaves those out), so their links stay.
        hidden = _links_hidden_from_actor(deal, named={contact.pk for contact, _ in contacts})
        DealContact.objects.filter(deal=deal).exclude(pk__in=hidden).delete()
        for contact, role in contacts:
            DealContact.objects.create(organization=org, deal=deal, contact=contact, role=role)
        changes.update(audit.diff({"contacts": before_links},
                                  {"contacts": _contact_links(deal)}))
    if changes:
        deal.save_new_version()
        search.reindex(Deal, [deal.pk])
        audit.record(org, actor, Action.UPDATE, deal, changes=changes)
        events.emit(org, actor, "deal.updated", deal,
                    data={**_event_data(deal), "changed": sorted(changes)})
    if stage is not None and stage.pk != deal.stage_id:
        deal = move_deal_to_stage(org, actor, deal, stage, reason=data.get("close_reason"))
    return deal


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _event_data(deal: Deal) -> dict:
    return {
        "id": deal.pk, "name": deal.name, "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id, "status": deal.status,
        "amount": (str(quantize(deal.amount, deal.currency)) if deal.amount is not None
                   else None),
        "currency": deal.currency, "owner_id": deal.owner_id, "company_id": deal.company_id,
    }


def _contact_links(deal: Deal) -> list[str]:
    return sorted(f"{link.contact_id}:{link.role}" for link in deal.contact_links.all())


def _contact_ids(deal: Deal) -> set[int]:
    return set(deal.contact_links.values_list("contact_id", flat=True))


def _links_hidden_from_actor(deal: Deal, *, named: set[int]) -> list[int]:
    """The ids of the deal's contact links whose contact the acting member may not see,
    less those naming a contact in `named`; none outside a member's request or job."""
    from accord.customers.models import Contact

    member = acting_member()
    if member is None:
        return []
    seen = visible(Contact.objects.all(), member, "contacts").values("pk")
    return list(deal.contact_links.exclude(contact__in=seen).exclude(contact_id__in=named)
                .values_list("pk", flat=True))


def _clean_contacts(raw, *, kept=frozenset()) -> list[tuple]:
    """The (contact, role) pairs of a deal's contact list. A contact the acting member
    may not see reads as missing, unless it is on the deal already (an id in `kept`)."""
    from accord.customers.models import Contact

    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InvalidInput({"contacts": "Give contacts as a list of {contact, role}."})
    errors: list[dict] = []
    found = []
    seen = set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            item = {"contact": item}
        contact = Contact.objects.filter(pk=_pk(item.get("contact") or item.get("contact_id")))
        contact = contact.first()
        if contact is not None and contact.pk not in kept and not may_link(contact, "contacts"):
            contact = None
        role = str(item.get("role") or "").strip()
        if contact is None:
            errors.append({"field": f"contacts.{index}.contact",
                           "message": "No contact with this id."})
        elif contact.pk in seen:
            errors.append({"field": f"contacts.{index}.contact",
                           "message": "This contact is listed twice."})
        elif len(role) > 80:
            errors.append({"field": f"contacts.{index}.role",
                           "message": "Use at most 80 characters."})
        else:
            seen.add(contact.pk)
            found.append((contact, role))
    if errors:
        raise InvalidInput(errors)
    return found


@transaction.atomic
def add_deal_contact(org, actor, deal: Deal, contact, *, role: str = "") -> DealContact:
    """Put `contact` on the deal with `role`, or change the role of one on it already.

    A contact the acting member may not see is NotFound, as a missing one.
    """
    kept = contact.pk if contact.pk in _contact_ids(deal) else None
    if not may_link(contact, "contacts", kept=kept):
        raise NotFound("No contact with this id.")
    role = str(role or "").strip()
    if len(role) > 80:
        raise InvalidInput({"role": "Use at most 80 characters."})
    link, created = DealContact.objects.get_or_create(
        organization=org, deal=deal, contact=contact, defaults={"role": role})
    if not created and link.role != role:
        link.role = role
        link.save(update_fields=["role"])
    audit.record(org, actor, Action.UPDATE, deal,
                 changes={"contacts": [None, f"{contact.pk}:{role}"]})
    events.emit(org, actor, "deal.updated", deal,
                data={**_event_data(deal), "changed": ["contacts"]})
    return link


@transaction.atomic
def linked_contact(deal: Deal, contact_id, membership):
    """The live contact with this id on the deal, when the member sees it; NotFound with
    the made-up id's message for a contact not on the deal or hidden from the member."""
    link = (DealContact.objects.filter(deal=deal, contact_id=contact_id,
                                       contact__deleted_at__isnull=True,
                                       contact__merged_into__isnull=True)
            .select_related("contact").first())
    if link is None or not can_see(membership, link.contact, "contacts"):
        raise NotFound("No contact with this id.")
    return link.contact


@transaction.atomic
def remove_deal_contact(org, actor, deal: Deal, contact) -> None:
    deleted, _ = DealContact.objects.filter(deal=deal, contact=contact).delete()
    if deleted:
        audit.record(org, actor, Action.UPDATE, deal,
                     changes={"contacts": [str(contact.pk), None]})
        events.emit(org, actor, "deal.updated", deal,
                    data={**_event_data(deal), "changed": ["contacts"]})


def missing_to_win(deal: Deal) -> list[dict]:
    """What a deal lacks before it can be won: an amount, an owner and a customer."""
    missing = []
    if deal.amount is None or deal.amount <= 0:
        missing.append({"field": "amount", "message": "A won deal needs an amount."})
    if deal.owner_id is None:
        missing.append({"field": "owner", "message": "A won deal needs an owner."})
    if deal.company_id is None and not deal.contact_links.exists():
        missing.append({"field": "company",
                        "message": "A won deal needs a company or a contact."})
    return missing


def backdate_history(org, deal: Deal, *, opened_on: dt.date,
                     closed_on: dt.date | None = None) -> None:
    """Date a deal loaded from another system by when it began there (and closed, if so).

    The deal's first stage entry moves to the start of `opened_on` in the
    organisation's time zone; when the load then moved it straight to a won or
    lost stage, that move is dated at the start of `closed_on`, and the time
    spent in the first stage follows. Reports of time in stage and sales cycle
    length read these dates.
    """
    zone = zone_named(org.time_zone)
    began = dt.datetime.combine(opened_on, dt.time(), tzinfo=zone)
    changes = list(StageChange.objects.filter(deal=deal).order_by("changed_at", "id"))
    if not changes:
        return
    StageChange.objects.filter(pk=changes[0].pk).update(changed_at=began)
    entered = began
    if len(changes) == 2 and closed_on is not None:
        ended = max(dt.datetime.combine(closed_on, dt.time(), tzinfo=zone), began)
        StageChange.objects.filter(pk=changes[1].pk).update(
            changed_at=ended, seconds_in_from_stage=int((ended - began).total_seconds()))
        entered = ended
    elif len(changes) == 2:
        entered = changes[1].changed_at
        StageChange.objects.filter(pk=changes[1].pk).update(
            seconds_in_from_stage=int((entered - began).total_seconds()))
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=entered)


@transaction.atomic
def move_deal_to_stage(org, actor, deal: Deal, stage: Stage, *,
                       expected_version: int | None = None, reason: str | None = None,
                       enforce_requirements: bool = True,
                       closed_on: dt.date | None = None) -> Deal:
    """Move a deal to `stage` (of any pipeline) and record the move with its time in stage.

    The row is locked first, so two people moving the same deal at once are
    applied one after the other and both moves are in the history; a caller
    that passes the `expected_version` it saw gets StaleVersion instead when
    the other move came first. Winning checks `missing_to_win`; a lost
    stage, or one marked so, needs a `reason`. Raises InvalidInput. A deal
    closed on another day than today (brought in by an import) passes that
    day as `closed_on`.
    """
    deal = Deal.with_deleted.select_for_update().get(pk=deal.pk)
    _check_version(deal, expected_version)
    if stage.pk == deal.stage_id:
        return deal
    if enforce_requirements and stage.pipeline_id != deal.pipeline_id and not (
            Pipeline.objects.filter(pk=stage.pipeline_id, is_active=True).exists()):
        raise InvalidInput({"stage": "This pipeline is switched off; choose an active one."})
    reason = str(reason or "").strip()
    errors: list[dict] = []
    if enforce_requirements:
        if stage.kind == StageKind.WON:
            errors.extend(missing_to_win(deal))
        if stage.needs_reason and not reason:
            errors.append({"field": "reason", "message": (
                "Say why the deal was lost." if stage.kind == StageKind.LOST
                else "Give a reason for this move.")})
    if len(reason) > 200:
        errors.append({"field": "reason", "message": "Use at most 200 characters."})
    if errors:
        raise InvalidInput(errors, detail="The deal cannot move to this stage yet.")

    now = timezone.now()
    old_stage = Stage.objects.filter(pk=deal.stage_id).first()
    old_status = deal.status
    before = audit.snapshot(deal, DEAL_FIELDS)
    # History is written before the deal row: a crash between the two rolls
    # both back, and a history row never exists without its move.
    StageChange.objects.create(
        organization=org, deal=deal, from_stage=old_stage, to_stage=stage, changed_at=now,
        from_stage_name=old_stage.name if old_stage else "", to_stage_name=stage.name,
        changed_by=_user(actor), amount=deal.amount, currency=deal.currency, reason=reason,
        seconds_in_from_stage=int((now - deal.stage_entered_at).total_seconds()),
    )
    deal.stage = stage
    deal.pipeline = stage.pipeline
    deal.stage_entered_at = now
    deal.last_activity_at = now
    deal.status = {StageKind.WON: DealStatus.WON, StageKind.LOST: DealStatus.LOST}.get(
        stage.kind, DealStatus.OPEN)
    if deal.status == DealStatus.OPEN:
        deal.closed_on = None
        deal.close_reason = ""
    else:
        if old_status == DealStatus.OPEN or deal.closed_on is None:
            deal.closed_on = closed_on or timezone.localdate(
                now, timezone=zone_named(org.time_zone))
        deal.close_reason = reason
    deal.save_new_version()
    search.reindex(Deal, [deal.pk])

    changes = audit.diff(before, audit.snapshot(deal, DEAL_FIELDS))
    audit.record(org, actor, Action.UPDATE, deal, changes=changes)
    data = {**_event_data(deal), "from_stage_id": old_stage.pk if old_stage else None,
            "to_stage_id": stage.pk, "reason": reason}
    events.emit(org, actor, "deal.stage_changed", deal, data=data)
    if deal.status != old_status and deal.status != DealStatus.OPEN:
        events.emit(org, actor, f"deal.{deal.status}", deal, data=data)
    timeline.log_event(org, actor, "deal.stage_changed", company=deal.company, deal=deal,
                       data={"from": old_stage.name if old_stage else "", "to": stage.name,
                             "reason": reason})
    logger.info("deal.stage_moved", extra={"organization_id": org.id, "deal_id": deal.pk,
                                           "stage_id": stage.pk})
    return deal


@transaction.atomic
def delete_deal(org, actor, deal: Deal, *, expected_version: int | None = None) -> None:
    """Move a deal to the trash; it keeps its history and can be restored."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    _check_version(deal, expected_version)
    deal.deleted_at = timezone.now()
    deal.save_new_version(update_fields=["deleted_at", "version", "updated_at"])
    search.reindex(Deal, [deal.pk])
    audit.record(org, actor, Action.DELETE, deal)
    events.emit(org, actor, "deal.deleted", deal, data=_event_data(deal))


@transaction.atomic
def restore_deal(org, actor, deal: Deal) -> Deal:
    deal = Deal.with_deleted.select_for_update().get(pk=deal.pk)
    if deal.deleted_at is None:
        return deal
    deal.deleted_at = None
    deal.save_new_version(update_fields=["deleted_at", "version", "updated_at"])
    search.reindex(Deal, [deal.pk])
    audit.record(org, actor, Action.RESTORE, deal)
    return deal


def touch_deal(deal_id: int, when: dt.datetime) -> None:
    """Note activity on a deal so it stops rotting; called when its timeline grows."""
    Deal.unscoped.filter(pk=deal_id, last_activity_at__lt=when).update(last_activity_at=when)


# Line items

LINE_FIELDS = ["name", "quantity", "unit_price", "discount_percent", "tax_percent"]


def _clean_lines(raw, currency: str) -> list[dict]:
    """Clean line items of a deal in `currency`; a product's price is its price in it."""
    from accord.commerce.models import Product

    if not isinstance(raw, list):
        raise InvalidInput({"line_items": "Give line items as a list."})
    errors: list[dict] = []
    lines = []
    for index, item in enumerate(raw):
        prefix = f"line_items.{index}."
        if not isinstance(item, dict):
            errors.append({"field": f"line_items.{index}", "message": "Give each line as an "
                                                                       "object."})
            continue
        field_errors: dict = {}
        product = None
        product_id = item.get("product") or item.get("product_id")
        if product_id not in (None, ""):
            product = Product.objects.filter(pk=_pk(product_id)).first()
            if product is None:
                field_errors["product"] = "No product with this id."
            elif not product.is_active:
                field_errors["product"] = "This product is no longer sold."
        name = str(item.get("name") or (product.name if product else "")).strip()
        if not name:
            field_errors["name"] = "Name the item or choose a product."
        elif len(name) > 200:
            field_errors["name"] = "Use at most 200 characters."
        quantity = clean_decimal(item.get("quantity", 1), "quantity", field_errors,
                                 minimum=Decimal("0.001"), maximum=Decimal("999999999"),
                                 places=3)
        price = item.get("unit_price")
        if price in (None, "") and product is not None and product.is_active:
            price = product.price_in(currency)
            if price is None:
                field_errors["unit_price"] = (
                    f"This product has no price in {currency}; enter a unit price.")
        unit_price = clean_decimal(price, "unit_price", field_errors,
                                   minimum=Decimal(0), maximum=Decimal("9999999999"))
        if unit_price is None and not field_errors.get("unit_price"):
            field_errors["unit_price"] = "Enter a unit price."
        discount = clean_decimal(item.get("discount_percent") or 0, "discount_percent",
                                 field_errors, minimum=0, maximum=100, places=2)
        tax = clean_decimal(item.get("tax_percent") or 0, "tax_percent", field_errors,
                            minimum=0, maximum=100, places=2)
        errors.extend({"field": prefix + field, "message": message}
                      for field, message in field_errors.items())
        if not field_errors:
            lines.append({"product": product, "name": name, "quantity": quantity,
                          "unit_price": unit_price, "discount_percent": discount,
                          "tax_percent": tax})
    if errors:
        raise InvalidInput(errors)
    return lines


def _write_lines(org, deal: Deal, lines: list[dict]) -> None:
    LineItem.objects.filter(deal=deal).delete()
    for position, line in enumerate(lines):
        LineItem.objects.create(organization=org, deal=deal, position=position, **line)
    if not deal.amount_overridden:
        deal.amount = _lines_total(deal) if lines else deal.amount
        Deal.objects.filter(pk=deal.pk).update(amount=deal.amount)


def line_totals(deal: Deal):
    """Net, tax and total of the deal's line items under the organisation's rounding."""
    items = list(deal.line_items.all())
    lines = [Line(item.quantity, item.unit_price, item.discount_percent, item.tax_percent)
             for item in items]
    return items, document_totals(lines, deal.currency, deal.organization.tax_rounding)


def _lines_total(deal: Deal) -> Decimal | None:
    items, totals = line_totals(deal)
    return totals.total if items else None


@transaction.atomic
def set_line_items(org, actor, deal: Deal, *, items: list[dict],
                   expected_version: int | None = None) -> Deal:
    """Replace the deal's line items; their total becomes the amount unless it was typed."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    _check_version(deal, expected_version)
    lines = _clean_lines(items, deal.currency)

    before = [_line_text(item) for item in deal.line_items.all()]
    before_amount = deal.amount
    _write_lines(org, deal, lines)
    after = [_line_text(item) for item in deal.line_items.all()]
    if before == after:
        return deal
    deal.save_new_version(update_fields=["version", "updated_at"])
    changes = {"line_items": [before, after]}
    if deal.amount != before_amount:
        changes["amount"] = [audit.json_safe(before_amount), audit.json_safe(deal.amount)]
    audit.record(org, actor, Action.UPDATE, deal, changes=changes)
    events.emit(org, actor, "deal.updated", deal,
                data={**_event_data(deal), "changed": sorted(changes)})
    return deal


def recompute_line_amounts(org, actor) -> int:
    """Recompute the amount of every open deal whose amount comes from its line items.

    Run after the organisation's tax rounding changes. Won and lost deals keep
    the amount they were closed with. Returns how many deals changed.
    """
    changed = 0
    deals = (Deal.objects.filter(status=DealStatus.OPEN, amount_overridden=False,
                                 line_items__isnull=False)
             .distinct().select_related("organization").order_by("pk"))
    for deal in deals.iterator():
        with transaction.atomic():
            deal = Deal.objects.select_for_update().select_related("organization").get(
                pk=deal.pk)
            total = _lines_total(deal)
            if total is None or total == deal.amount:
                continue
            before = deal.amount
            deal.amount = total
            deal.save_new_version(update_fields=["amount", "version", "updated_at"])
            audit.record(org, actor, Action.UPDATE, deal, changes={
                "amount": [audit.json_safe(before), audit.json_safe(total)]})
            events.emit(org, actor, "deal.updated", deal,
                        data={**_event_data(deal), "changed": ["amount"]})
            changed += 1
    return changed


def _line_text(item: LineItem) -> str:
    text = f"{item.quantity.normalize():f} × {item.name} @ {item.unit_price.normalize():f}"
    if item.discount_percent:
        text += f" −{item.discount_percent.normalize():f}%"
    if item.tax_percent:
        text += f" +{item.tax_percent.normalize():f}% tax"
    return text


# Currencies and quotas


class MissingRate(Exception):
    """No exchange rate for a currency on or before a date."""

    def __init__(self, currency: str, on: dt.date):
        self.currency = currency
        self.on = on
        super().__init__(f"No exchange rate for {currency} on or before {on}.")


def rate_on(org, currency: str, on: dt.date) -> Decimal:
    """Base-currency value of one unit of `currency` on day `on` (the last rate before)."""
    if currency == org.base_currency:
        return Decimal(1)
    rate = (ExchangeRate.objects.filter(currency=currency, valid_on__lte=on)
            .order_by("-valid_on").values_list("rate", flat=True).first())
    if rate is None:
        raise MissingRate(currency, on)
    return rate


def to_base(org, amount: Decimal | None, currency: str, on: dt.date) -> Decimal:
    """`amount` of `currency` in the organisation's base currency on `on`; MissingRate."""
    if amount is None:
        return Decimal(0)
    return amount * rate_on(org, currency, on)


@transaction.atomic
def set_exchange_rate(org, actor, *, currency, valid_on, rate) -> ExchangeRate:
    errors: dict = {}
    code = str(currency or "").strip().upper()
    from accord.money import is_currency

    if not is_currency(code):
        errors["currency"] = "Use a three-letter ISO 4217 code such as EUR."
    elif code == org.base_currency:
        errors["currency"] = "The base currency needs no rate."
    day = clean_date(valid_on, "valid_on", errors) if valid_on not in (None, "") else None
    if day is None and "valid_on" not in errors:
        errors["valid_on"] = "Enter the date the rate is valid from."
    value = clean_decimal(rate, "rate", errors, minimum=Decimal("0.0000000001"), places=10)
    if value is None and "rate" not in errors:
        errors["rate"] = "Enter the rate."
    if errors:
        raise InvalidInput(errors)
    exchange, created = ExchangeRate.objects.update_or_create(
        organization=org, currency=code, valid_on=day, defaults={"rate": value})
    audit.record(org, actor, Action.CREATE if created else Action.UPDATE, exchange,
                 changes={"rate": [None, str(value)]})
    return exchange


@transaction.atomic
def set_quota(org, actor, *, user, period: str, starts_on, amount) -> Quota:
    """Set (or replace) a salesperson's quota for the month or quarter starting `starts_on`."""
    from .models import Period

    errors: dict = {}
    person = member(org, user, "user", errors)
    if period not in Period.values:
        errors["period"] = "Choose month or quarter."
    day = clean_date(starts_on, "starts_on", errors)
    if day is None and "starts_on" not in errors:
        errors["starts_on"] = "Enter the first day of the period."
    elif day is not None and (day.day != 1 or (period == "quarter" and day.month % 3 != 1)):
        errors["starts_on"] = "A period starts on the first day of a month or quarter."
    value = clean_decimal(amount, "amount", errors, minimum=Decimal(0), places=2)
    if value is None and "amount" not in errors:
        errors["amount"] = "Enter the quota."
    if errors:
        raise InvalidInput(errors)
    quota = Quota.objects.filter(user=person, period=period, starts_on=day).first()
    if quota is None:
        quota = Quota.objects.create(organization=org, user=person, period=period,
                                     starts_on=day, amount=value)
        audit.record(org, actor, Action.CREATE, quota, changes={"amount": [None, str(value)]})
    elif quota.amount != value:
        old = quota.amount
        quota.amount = value
        quota.version = F("version") + 1
        quota.save()
        quota.refresh_from_db()
        audit.record(org, actor, Action.UPDATE, quota,
                     changes={"amount": [str(old), str(value)]})
    return quota
