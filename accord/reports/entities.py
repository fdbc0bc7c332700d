"""What a report can be about: each record type's groupings, measures, dates and visibility.

A report reads one entity: a built-in one, or a custom record type
(`record:<type key>`, see `record_entities`). Its dimensions are the fields
it may be grouped and filtered by, its numbers the fields it may be measured
by, its dates the fields a date bucket or a period filter applies to. Custom
fields join these per viewer: a choice field is a dimension and a number
field a measure, unless the viewer's role may not see the field, in which
case it does not exist for that report.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    DecimalField,
    ExpressionWrapper,
    Q,
    QuerySet,
    TextField,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from accord.activities.models import Activity
from accord.activities.models import Kind as ActivityKind
from accord.commerce.models import Order, OrderKind, OrderStatus
from accord.customers.custom_fields import active_fields
from accord.customers.models import Company, CompanySize, Contact, FieldType, LifecycleStage
from accord.identity.models import Membership
from accord.identity.visibility import through_contact, through_records, visible
from accord.sales.models import Deal, DealContact, DealStatus, Pipeline, Stage
from accord.service.models import Queue, Ticket
from accord.service.models.ticket import Channel, Priority, TicketStatus
from accord.service.queries import visible_tickets

CHOICE = "choice"  # values from a fixed list
USER = "user"  # a member's user id; "@me" in a filter stands for the viewer
RECORD = "record"  # the id of a stage, pipeline or queue
FLAG = "flag"  # yes or no
TEXT = "text"  # any short text, such as a country code


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    expression: object  # a field path or an expression over the entity
    kind: str = CHOICE
    choices: tuple[tuple[str, str], ...] = ()
    # For RECORD: (value, label) pairs of the organisation, in display order.
    records: Callable[[], list[tuple[int, str]]] | None = None


@dataclass(frozen=True)
class Number:
    key: str
    label: str
    expression: object
    # The path of the currency beside a money amount; sums never mix currencies.
    currency: str | None = None


@dataclass(frozen=True)
class DateField:
    key: str
    label: str
    is_datetime: bool = True
    # For a date that is not a column of its own, such as a value in JSON.
    expression: object = None


@dataclass
class Entity:
    key: str
    label: str
    model: type
    permission: str
    visible: Callable[[QuerySet, Membership], QuerySet]
    dimensions: list[Dimension]
    numbers: list[Number] = field(default_factory=list)
    dates: list[DateField] = field(default_factory=list)
    # The custom-field record type, when the entity has custom fields.
    custom_entity: str | None = None
    # How the entity reaches contacts, for "contact matches segment":
    # a function from a queryset of contacts to a Q over the entity.
    contacts: Callable[[QuerySet], Q] | None = None

    def dimension(self, key: str) -> Dimension | None:
        return next((item for item in self.dimensions if item.key == key), None)

    def number(self, key: str) -> Number | None:
        return next((item for item in self.numbers if item.key == key), None)

    def date(self, key: str) -> DateField | None:
        return next((item for item in self.dates if item.key == key), None)


def _choices(text_choices) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), str(label)) for value, label in text_choices.choices)


def _stages() -> list[tuple[int, str]]:
    stages = Stage.objects.select_related("pipeline").order_by("pipeline__name", "position", "id")
    several = Pipeline.objects.count() > 1
    return [(stage.pk, f"{stage.pipeline.name}: {stage.name}" if several else stage.name)
            for stage in stages]


def _pipelines() -> list[tuple[int, str]]:
    return list(Pipeline.objects.order_by("name", "id").values_list("pk", "name"))


def _queues() -> list[tuple[int, str]]:
    return list(Queue.objects.order_by("name", "id").values_list("pk", "name"))


OWNER = _("Owner")


def _owner(label=OWNER, path="owner_id", key="owner") -> Dimension:
    return Dimension(key, label, path, USER)


def _flag(key: str, label, condition: Q) -> Dimension:
    return Dimension(key, label, ExpressionWrapper(condition, output_field=BooleanField()), FLAG)


def _country() -> Dimension:
    return Dimension("country", _("Country"), "country", TEXT)


def _builtin() -> dict[str, Entity]:
    def own_visibility(area):
        return lambda rows, membership: visible(rows, membership, area)

    entities = [
        Entity(
            "contacts", _("Contacts"), Contact, "contacts.view", own_visibility("contacts"),
            [Dimension("lifecycle_stage", _("Lifecycle stage"), "lifecycle_stage", CHOICE,
                       _choices(LifecycleStage)),
             _owner(), _country(), Dimension("source", _("Source"), "source", TEXT),
             _flag("do_not_contact", _("Do not contact"), Q(do_not_contact=True))],
            dates=[DateField("created_at", _("Created")),
                   DateField("birthday", _("Birthday"), is_datetime=False)],
            custom_entity="contact",
            contacts=lambda contacts: Q(pk__in=contacts.values("pk")),
        ),
        Entity(
            "companies", _("Companies"), Company, "companies.view", own_visibility("companies"),
            [Dimension("size", _("Size"), "size", CHOICE, _choices(CompanySize)),
             Dimension("industry", _("Industry"), "industry", TEXT), _owner(), _country()],
            [Number("employees", _("Employees"), "employees"),
             Number("annual_revenue", _("Annual revenue"), "annual_revenue", "currency")],
            [DateField("created_at", _("Created"))],
            custom_entity="company",
            contacts=lambda contacts: Q(pk__in=contacts.values("company_id")),
        ),
        Entity(
            "deals", _("Deals"), Deal, "deals.view", own_visibility("deals"),
            [Dimension("stage", _("Stage"), "stage_id", RECORD, records=_stages),
             Dimension("pipeline", _("Pipeline"), "pipeline_id", RECORD, records=_pipelines),
             Dimension("status", _("Status"), "status", CHOICE, _choices(DealStatus)),
             _owner(), Dimension("source", _("Source"), "source", TEXT)],
            [Number("amount", _("Amount"), "amount", "currency")],
            [DateField("created_at", _("Created")),
             DateField("expected_close_date", _("Expected close"), is_datetime=False),
             DateField("closed_on", _("Closed on"), is_datetime=False)],
            custom_entity="deal",
            contacts=lambda contacts: Q(pk__in=DealContact.objects.filter(
                contact__in=contacts.values("pk")).values("deal_id")),
        ),
        Entity(
            "tickets", _("Tickets"), Ticket, "tickets.view", visible_tickets,
            [Dimension("status", _("Status"), "status", CHOICE, _choices(TicketStatus)),
             Dimension("priority", _("Priority"), "priority", CHOICE, _choices(Priority)),
             Dimension("channel", _("Channel"), "channel", CHOICE, _choices(Channel)),
             Dimension("queue", _("Queue"), "queue_id", RECORD, records=_queues),
             _owner(_("Assignee"), "assignee_id", "assignee"),
             _flag("sla_breached", _("SLA breached"), Q(sla_breached_at__isnull=False))],
            dates=[DateField("created_at", _("Created")), DateField("solved_at", _("Solved"))],
            custom_entity="ticket",
            contacts=lambda contacts: Q(contact__in=contacts.values("pk")),
        ),
        Entity(
            "orders", _("Orders"), Order, "orders.view", through_contact,
            [Dimension("status", _("Status"), "status", CHOICE, _choices(OrderStatus)),
             Dimension("kind", _("Kind"), "kind", CHOICE, _choices(OrderKind)),
             Dimension("currency", _("Currency"), "currency", TEXT)],
            [Number("total", _("Total"), "total", "currency"),
             Number("subtotal", _("Subtotal"), "subtotal", "currency")],
            [DateField("placed_at", _("Placed"))],
            contacts=lambda contacts: Q(contact__in=contacts.values("pk")),
        ),
        Entity(
            "activities", _("Activities"), Activity, "activities.view",
            through_records,
            [Dimension("kind", _("Type"), "kind", CHOICE, _choices(ActivityKind)),
             _owner(_("Author"), "author_id", "author"),
             _owner(_("Assignee"), "assignee_id", "assignee"),
             _flag("done", _("Done"), Q(completed_at__isnull=False))],
            [Number("duration_minutes", _("Duration (minutes)"), "duration_minutes")],
            [DateField("occurred_at", _("When")), DateField("due_at", _("Due"))],
            contacts=lambda contacts: Q(contact__in=contacts.values("pk")),
        ),
    ]
    return {entity.key: entity for entity in entities}


ENTITY_LABELS = {key: entity.label for key, entity in _builtin().items()}


def entity_labels(viewer) -> list[tuple[str, str]]:
    """Every entity `viewer` (a Membership) may choose, as (key, label): the built-in
    ones, then the organisation's active record types. Call inside the tenant scope."""
    from .record_entities import record_entity_labels  # it imports this module

    return [*ENTITY_LABELS.items(), *record_entity_labels(viewer)]


def entity_for(key: str, viewer) -> Entity | None:
    """The entity `key` as `viewer` (a Membership) may report on it, custom fields included.

    Call inside the tenant scope. None for an unknown entity.
    """
    if key.startswith("record:"):
        # Imported here: record types build on the classes of this module.
        from .record_entities import PREFIX, record_entity

        return record_entity(key.removeprefix(PREFIX), viewer)
    entity = _builtin().get(key)
    if entity is None or entity.custom_entity is None:
        return entity
    for custom in active_fields(entity.custom_entity, viewer):
        if custom.encrypted:
            # Sealed values cannot be grouped or added up in SQL; the field is
            # not offered, and naming it answers as for a field that is not there.
            continue
        path = f"custom_fields__{custom.key}"
        if custom.field_type == FieldType.CHOICE:
            # Cast to plain text: a JSON key compared as JSON would never equal
            # the plain text of a filter or drill-down value.
            entity.dimensions.append(Dimension(
                f"cf_{custom.key}", custom.label, Cast(KT(path), TextField()), CHOICE,
                tuple((choice, choice) for choice in custom.choices)))
        elif custom.field_type == FieldType.NUMBER:
            entity.numbers.append(Number(
                f"cf_{custom.key}", custom.label,
                Cast(KT(path), DecimalField(max_digits=24, decimal_places=6))))
    return entity
