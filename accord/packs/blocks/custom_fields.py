"""Custom fields of contacts, companies, deals or tickets, made by the customers service."""

from django.apps import apps

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import custom_fields
from accord.customers import services as customers
from accord.customers.models import CustomField, Entity, FieldType
from accord.identity.models import Role

from . import Block, register

RECORDS = {Entity.CONTACT: "customers.Contact", Entity.COMPANY: "customers.Company",
           Entity.DEAL: "sales.Deal", Entity.TICKET: "service.Ticket"}
SETTINGS = {"entity", "key", "label", "type", "choices", "currency", "required", "help_text",
            "hidden_from_roles"}


def _records(ctx, field: CustomField):
    # Trashed records still hold their values, so the unscoped manager counts them.
    model = apps.get_model(RECORDS[field.entity])
    return model.unscoped.filter(organization=ctx.org, custom_fields__has_key=field.key)


class CustomFields(Block):
    section = "custom_fields"
    label = "Custom fields"
    order = 10

    def check(self, item, path, problems):
        problems.only(item, path, SETTINGS)
        if item.get("entity", Entity.CONTACT) not in Entity.values:
            problems.add(f"{path}.entity", "must be one of: " + ", ".join(Entity.values))
        if not custom_fields.FIELD_KEY.match(str(item.get("key", ""))):
            problems.add(f"{path}.key", "must be lower-case letters, digits and underscores, "
                                        "starting with a letter")
        problems.text(item, "label", path, limit=80)
        if item.get("type") not in FieldType.values:
            problems.add(f"{path}.type", "must be one of: " + ", ".join(FieldType.values))
        elif item["type"] in custom_fields.CHOICE_TYPES and not (
                isinstance(item.get("choices"), list) and item["choices"]):
            problems.add(f"{path}.choices", "must list at least one choice")
        elif item["type"] == FieldType.MONEY and not isinstance(item.get("currency"), str):
            problems.add(f"{path}.currency", "must be a three-letter currency code")
        roles = item.get("hidden_from_roles", [])
        if not isinstance(roles, list) or set(map(str, roles)) - set(Role.values):
            problems.add(f"{path}.hidden_from_roles",
                         "must be a list of roles: " + ", ".join(Role.values))

    def key(self, item):
        return f"{item.get('entity', Entity.CONTACT)}.{item.get('key', '')}"

    def describe(self, item):
        return f"{item.get('label')} ({item.get('entity', Entity.CONTACT)}, {item.get('type')})"

    def existing(self, ctx, item):
        return CustomField.objects.filter(entity=item.get("entity", Entity.CONTACT),
                                          key=item["key"]).first()

    def create(self, ctx, item):
        return customers.create_custom_field(ctx.org, ctx.actor, data={
            "entity": item.get("entity", Entity.CONTACT), "key": item["key"],
            "label": item["label"], "field_type": item["type"],
            "choices": item.get("choices", []), "currency": item.get("currency", ""),
            "required": item.get("required", False), "help_text": item.get("help_text", ""),
            "hidden_from_roles": item.get("hidden_from_roles", []),
        })

    def find(self, ctx, key, object_id):
        return CustomField.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = _records(ctx, obj).count()
        return f"{count} record(s) hold a value" if count else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        cleared = 0
        for record in _records(ctx, obj):
            record.custom_fields.pop(obj.key, None)
            record.save(update_fields=["custom_fields"])
            cleared += 1
        audit.record(ctx.org, ctx.actor, Action.PURGE, obj, entity="custom_field",
                     changes={"key": [obj.key, None], "values_removed": [cleared, 0]})
        obj.delete()
        return ""


register(CustomFields())
