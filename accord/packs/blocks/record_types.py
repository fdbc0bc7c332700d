"""Custom record types (properties, viewings, policies), made by the records service.

A type is saved whole with `records.services.save_type`. A type whose field
links to another type of the same pack is applied after it, and removed
before it, because removal goes through the recorded objects in reverse.
"""

import re

from accord.customers import custom_fields
from accord.customers.models import FieldType
from accord.errors import InvalidInput
from accord.identity.models import Role
from accord.records import services as records
from accord.records.models import Record, RecordField, RecordType, RelationType

from . import Block, register

SETTINGS = {"key", "singular", "plural", "description", "title_field", "position", "active",
            "confidential", "party_fields", "fields"}
FIELD_SETTINGS = {"key", "label", "type", "target", "many", "required", "choices", "currency",
                  "help_text", "hidden_from_roles", "active"}
FIELD_TYPES = [*FieldType.values, *RelationType.values]
# The service names a field's problem `fields.2.choices`; the pack names it `fields[2].choices`.
SERVICE_FIELD = re.compile(r"^fields\.(\d+)\.")


def targets(item: dict) -> set[str]:
    """The keys of the other types the type's fields link to."""
    fields = item.get("fields") if isinstance(item.get("fields"), list) else []
    return {str(spec.get("target")) for spec in fields
            if isinstance(spec, dict) and spec.get("type") == RelationType.RECORD
            and spec.get("target") != item.get("key")}


class RecordTypes(Block):
    section = "record_types"
    label = "Record types"
    order = 15

    def check(self, item, path, problems):
        problems.only(item, path, SETTINGS)
        if not records.TYPE_KEY.match(str(item.get("key", ""))):
            problems.add(f"{path}.key", "must be lower-case letters, digits and underscores, "
                                        "starting with a letter, at most 50")
        problems.text(item, "singular", path, limit=80)
        problems.text(item, "plural", path, limit=80)
        problems.text(item, "description", path, limit=500, required=False)
        problems.whole(item, "position", path, low=0, high=10000, required=False)
        if not isinstance(item.get("active", True), bool):
            problems.add(f"{path}.active", "must be true or false")
        fields = item.get("fields")
        if not isinstance(fields, list) or not fields or len(fields) > records.MAX_FIELDS:
            problems.add(f"{path}.fields", f"must list 1 to {records.MAX_FIELDS} fields")
            return
        keys = {}
        for index, spec in enumerate(fields):
            where = f"{path}.fields[{index}]"
            if problems.mapping(spec, where):
                self._check_field(spec, where, problems)
                if spec.get("key") in keys:
                    problems.add(f"{where}.key", f"repeats the field {spec['key']!r}")
                keys[spec.get("key")] = spec.get("type")
        if not isinstance(item.get("confidential", False), bool):
            problems.add(f"{path}.confidential", "must be true or false")
        parties = item.get("party_fields", [])
        if not isinstance(parties, list) or any(
                not isinstance(key, str) or keys.get(key) not in records.PARTY_TYPES
                for key in parties):
            problems.add(f"{path}.party_fields", "must list keys of the type's text, contact "
                                                 "or company fields")
        title = item.get("title_field")
        if title is not None and keys.get(title) not in records.TITLE_TYPES:
            problems.add(f"{path}.title_field", "must be the key of one of the type's text, "
                                                "number, date or choice fields")

    @staticmethod
    def _check_field(spec, path, problems):
        problems.only(spec, path, FIELD_SETTINGS)
        if not custom_fields.FIELD_KEY.match(str(spec.get("key", ""))):
            problems.add(f"{path}.key", "must be lower-case letters, digits and underscores, "
                                        "starting with a letter")
        problems.text(spec, "label", path, limit=80, required=False)
        problems.text(spec, "help_text", path, limit=500, required=False)
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            problems.add(f"{path}.type", "must be one of: " + ", ".join(FIELD_TYPES))
        elif kind == RelationType.RECORD:
            problems.text(spec, "target", path, limit=50)
        elif kind in custom_fields.CHOICE_TYPES and not (
                isinstance(spec.get("choices"), list) and spec["choices"]):
            problems.add(f"{path}.choices", "must list at least one choice")
        if "target" in spec and kind != RelationType.RECORD:
            problems.add(f"{path}.target", "is only for fields of type record")
        if "many" in spec and kind not in RelationType.values:
            problems.add(f"{path}.many", "is only for link fields")
        for name in ("many", "required", "active"):
            if not isinstance(spec.get(name, False), bool):
                problems.add(f"{path}.{name}", "must be true or false")
        if "currency" in spec and not (kind == FieldType.MONEY
                                       and isinstance(spec["currency"], str)):
            problems.add(f"{path}.currency", "must be a three-letter currency code of a "
                                             "money field")
        roles = spec.get("hidden_from_roles", [])
        if not isinstance(roles, list) or set(map(str, roles)) - (set(Role.values)
                                                                  - {Role.ADMIN}):
            problems.add(f"{path}.hidden_from_roles", "must be a list of roles other than "
                                                      "admin")

    def check_section(self, items, problems):
        # A type is saved after the types it links to, so links in a circle
        # cannot be applied. A link to a type outside the pack must exist when
        # the pack is applied; the records service names it if it does not.
        settled = {id(item) for item in self._settled(items)}
        for index, item in enumerate(items):
            if isinstance(item, dict) and id(item) not in settled:
                problems.add(f"{self.section}[{index}].fields",
                             "links in a circle with this pack's types (or to a type in "
                             "one), so no type can be saved first; add one of the links "
                             "after the pack is applied")

    def arrange(self, items):
        """The entries in apply order: each type after the types of the pack it links to."""
        settled = self._settled(items)
        chosen = {id(item) for item in settled}
        return settled + [item for item in items if id(item) not in chosen]

    @staticmethod
    def _settled(items) -> list:
        mapped = [item for item in items if isinstance(item, dict)]
        own = {item.get("key") for item in mapped}
        settled, done = [], set()
        while True:
            ready = [item for item in mapped if item.get("key") not in done
                     and targets(item) & own <= done]
            if not ready:
                return settled
            settled.extend(ready)
            done.update(item.get("key") for item in ready)

    def key(self, item):
        return str(item.get("key", ""))

    def describe(self, item):
        fields = ", ".join(str(spec.get("label") or spec.get("key"))
                           for spec in item.get("fields", []) if isinstance(spec, dict))
        return f"{item.get('plural')}: {fields}"

    def existing(self, ctx, item):
        return RecordType.objects.filter(key=item["key"]).first()

    def create(self, ctx, item):
        try:
            return records.save_type(ctx.org, ctx.actor, item)
        except InvalidInput as exc:
            raise InvalidInput([
                {**error, "field": SERVICE_FIELD.sub(r"fields[\1].", error["field"])}
                for error in exc.errors]) from None

    def find(self, ctx, key, object_id):
        return RecordType.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = Record.with_deleted.filter(record_type=obj).count()
        return f"{count} record(s) of this type exist" if count else ""

    def blocked(self, ctx, obj):
        linking = sorted({str(field.record_type) for field in RecordField.objects.filter(
            target=obj).exclude(record_type=obj).select_related("record_type")})
        return ("fields of other record types link to it: " + ", ".join(linking)
                if linking else "")

    def delete(self, ctx, obj, *, delete_data, changed):
        deleted = records.delete_type(ctx.org, ctx.actor, obj, delete_records=delete_data)
        return f"{deleted} record(s) deleted with it" if deleted else ""


register(RecordTypes())
