"""The contact's own fields, its custom fields and its company's fields as condition subjects.

A field condition reads `{"field": "<key>", "op": ..., "value": ...}` where
the key is a contact field (`lifecycle_stage`), a contact custom field
(`cf.<key>`), a company field (`company.industry`) or a company custom field
(`company.cf.<key>`). Custom fields are compared through the same SQL
expressions the contact and company lists filter and sort with.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from accord.customers.custom_fields import may_see
from accord.customers.models import (
    Company,
    CompanySize,
    CustomField,
    Entity,
    FieldType,
    LifecycleStage,
)
from accord.customers.queries import custom_field_orderings
from accord.identity.models import Area, Membership

from .types import TYPE_OPERATORS, Context, Operator, Target, ValueType, compile_comparison

CONTACT_GROUP = _("Contact")
CONTACT_CUSTOM_GROUP = _("Contact custom fields")
COMPANY_GROUP = _("Company")
COMPANY_CUSTOM_GROUP = _("Company custom fields")

# Operators under which a contact without a company matches a company condition:
# a missing company has no value, which is neither equal to nor containing anything.
WITHOUT_COMPANY_MATCHES = {"is_empty", "not_equals", "not_contains", "not_in"}


def owner_choices() -> list[tuple[str, str]]:
    memberships = Membership.objects.select_related("user").order_by("user__full_name", "id")
    return [(str(m.user_id), m.user.full_name or m.user.email) for m in memberships]


@dataclass(frozen=True)
class FieldSubject:
    key: str
    label: str
    group: str
    value_type: ValueType
    target: Target
    choices: object = None
    via_company: bool = False
    params: tuple = ()

    @property
    def builder_key(self) -> str:
        return f"field:{self.key}"

    @property
    def operators(self) -> list[Operator]:
        return TYPE_OPERATORS[self.value_type]

    def compile(self, node: dict, ctx: Context) -> Q:
        q = compile_comparison(self.target, self.value_type, node["op"], node.get("value"), ctx)
        if not self.via_company:
            return q
        companies = Company.objects.filter(organization_id=ctx.org.pk, pk=OuterRef("company_id"))
        every = Company.objects.filter(organization_id=ctx.org.pk)
        seen = ctx.seen_in(every, Area.COMPANIES)
        hidden = None
        if seen is not every:
            # A company the members may not see reads as no company at all.
            hidden = companies.exclude(pk__in=seen.values("pk"))
            companies = companies.filter(pk__in=seen.values("pk"))
        matches = Q(Exists(companies.filter(q)))
        if node["op"] in WITHOUT_COMPANY_MATCHES:
            matches |= Q(company__isnull=True)
            if hidden is not None:
                matches |= Q(Exists(hidden))
        return matches


def _text(key, label, group=CONTACT_GROUP, *, via_company=False):
    return FieldSubject(key if not via_company else f"company.{key}", label, group,
                        ValueType.TEXT, Target(path=key, blank_is_empty=True),
                        via_company=via_company)


def _builtin_contact_fields() -> list[FieldSubject]:
    return [
        _text("first_name", _("First name")),
        _text("last_name", _("Last name")),
        _text("email", _("E-mail")),
        _text("phone", _("Phone")),
        _text("title", _("Job title")),
        FieldSubject("lifecycle_stage", _("Lifecycle stage"), CONTACT_GROUP, ValueType.CHOICE,
                     Target(path="lifecycle_stage"), choices=LifecycleStage.choices),
        FieldSubject("owner", _("Owner"), CONTACT_GROUP, ValueType.CHOICE,
                     Target(path="owner_id"), choices=owner_choices),
        _text("source", _("Source")),
        _text("city", _("City")),
        _text("region", _("Region")),
        _text("postal_code", _("Postal code")),
        _text("country", _("Country code")),
        FieldSubject("birthday", _("Birthday"), CONTACT_GROUP, ValueType.DATE,
                     Target(path="birthday", stored="date")),
        FieldSubject("do_not_contact", _("Do not contact"), CONTACT_GROUP, ValueType.BOOLEAN,
                     Target(path="do_not_contact")),
        FieldSubject("created_at", _("Created"), CONTACT_GROUP, ValueType.DATE,
                     Target(path="created_at", stored="datetime")),
        FieldSubject("updated_at", _("Last changed"), CONTACT_GROUP, ValueType.DATE,
                     Target(path="updated_at", stored="datetime")),
    ]


def _builtin_company_fields() -> list[FieldSubject]:
    def company(key, label, value_type, target, choices=None):
        return FieldSubject(f"company.{key}", label, COMPANY_GROUP, value_type, target,
                            choices=choices, via_company=True)

    return [
        _text("name", _("Company name"), COMPANY_GROUP, via_company=True),
        _text("domain", _("Company domain"), COMPANY_GROUP, via_company=True),
        _text("industry", _("Company industry"), COMPANY_GROUP, via_company=True),
        company("size", _("Company size"), ValueType.CHOICE, Target(path="size",
                blank_is_empty=True), CompanySize.choices),
        company("employees", _("Company employees"), ValueType.NUMBER,
                Target(path="employees")),
        company("annual_revenue", _("Company annual revenue"), ValueType.MONEY,
                Target(path="annual_revenue")),
        _text("city", _("Company city"), COMPANY_GROUP, via_company=True),
        _text("country", _("Company country code"), COMPANY_GROUP, via_company=True),
        company("created_at", _("Company created"), ValueType.DATE,
                Target(path="created_at", stored="datetime")),
    ]


CUSTOM_TYPES = {
    FieldType.TEXT: ValueType.TEXT, FieldType.LONG_TEXT: ValueType.TEXT,
    FieldType.URL: ValueType.TEXT, FieldType.EMAIL: ValueType.TEXT,
    FieldType.PHONE: ValueType.TEXT, FieldType.NUMBER: ValueType.NUMBER,
    FieldType.MONEY: ValueType.MONEY, FieldType.DATE: ValueType.DATE,
    FieldType.DATETIME: ValueType.DATE, FieldType.CHOICE: ValueType.CHOICE,
    FieldType.MULTI_CHOICE: ValueType.MULTI_CHOICE, FieldType.BOOLEAN: ValueType.BOOLEAN,
}


def _custom_target(field: CustomField) -> Target:
    if field.field_type == FieldType.BOOLEAN:
        # Compared as JSON through the key path, so true and false mean the same on
        # SQLite and PostgreSQL; the explicit final lookup keeps a key named like a
        # lookup ("contains") a key.
        return Target(path=f"custom_fields__{field.key}")
    if field.field_type == FieldType.MULTI_CHOICE:
        as_text = Cast(KeyTextTransform(field.key, "custom_fields"), TextField())
        return Target(expression=as_text, list_text=as_text)
    # The expression the contact and company lists sort and filter this field by.
    expression = custom_field_orderings(field.entity, [field])[f"cf.{field.key}"].expression
    stored = {FieldType.DATE: "iso_date", FieldType.DATETIME: "iso_datetime"}
    return Target(expression=expression, stored=stored.get(field.field_type, ""),
                  blank_is_empty=CUSTOM_TYPES[field.field_type] == ValueType.TEXT)


def _custom_subject(field: CustomField) -> FieldSubject:
    on_company = field.entity == Entity.COMPANY
    prefix = "company.cf." if on_company else "cf."
    group = COMPANY_CUSTOM_GROUP if on_company else CONTACT_CUSTOM_GROUP
    label = _("Company: %(label)s") % {"label": field.label} if on_company else field.label
    choices = [(choice, choice) for choice in field.choices or []]
    return FieldSubject(f"{prefix}{field.key}", str(label), group,
                        CUSTOM_TYPES[field.field_type], _custom_target(field),
                        choices=choices or None, via_company=on_company)


def field_subjects(viewer=None) -> list[FieldSubject]:
    """Every field a condition may compare, the organisation's custom fields included,
    less those hidden from the `viewer` (a Membership) when one is given and those
    stored encrypted (`encrypted_subject_label` names them for the error).

    Call inside the tenant scope.
    """
    # Encrypted fields are stored sealed, so SQL cannot compare their values.
    custom = [field for field in CustomField.objects.filter(
        entity__in=[Entity.CONTACT, Entity.COMPANY], is_active=True, encrypted=False,
    ).order_by("entity", "position", "id") if may_see(viewer, field)]
    contact_custom = [_custom_subject(f) for f in custom if f.entity == Entity.CONTACT]
    company_custom = [_custom_subject(f) for f in custom if f.entity == Entity.COMPANY]
    return (_builtin_contact_fields() + contact_custom + _builtin_company_fields()
            + company_custom)


def encrypted_subject_label(key: str, viewer=None) -> str | None:
    """The label of the encrypted custom field a condition key (`cf.<key>` or
    `company.cf.<key>`) names, if it does and the `viewer` may see it."""
    if key.startswith("company.cf."):
        entity, field_key = Entity.COMPANY, key.removeprefix("company.cf.")
    elif key.startswith("cf."):
        entity, field_key = Entity.CONTACT, key.removeprefix("cf.")
    else:
        return None
    field = CustomField.objects.filter(entity=entity, key=field_key, encrypted=True).first()
    return field.label if field is not None and may_see(viewer, field) else None
