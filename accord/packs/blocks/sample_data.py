"""A few sample companies, contacts, deals and custom records, so that a pack's reports
show figures.

Sample records are made by the customers, sales and records services like any other.
One nobody touched since is deleted for good on removal (it was never anyone's
data); one somebody changed, or that gained a note, a call or a relationship,
is kept unless data may be deleted, and then goes to the trash.
"""

import datetime as dt
import re

from django.db.models import Q
from django.utils import timezone

from accord import search
from accord.activities.models import Activity, Kind
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import services as customers
from accord.customers.models import Company, ConsentMethod, Contact
from accord.errors import InvalidInput
from accord.records import services as records
from accord.records.models import Record, RecordLink, RecordType, RelationType
from accord.relationships.models import Relationship
from accord.sales import services as sales
from accord.sales.models import Deal, Pipeline

from . import Block, register

RELATIVE_DATE = re.compile(r"^today(?P<days>[+-]\d{1,4})?( (?P<time>\d\d:\d\d))?$")
KINDS = {"company": Company, "contact": Contact, "deal": Deal, "record": Record}
FIELDS = {
    "company": {"name", "domain", "industry", "country", "tags", "custom_fields"},
    "contact": {"first_name", "last_name", "email", "title", "company", "lifecycle_stage",
                "country", "tags", "custom_fields", "consents"},
    "deal": {"name", "pipeline", "stage", "amount", "currency", "contact", "company",
             "expected_close"},
    "record": {"record_type", "name", "values"},
}
# A sample custom record names the records it links to as the other sample
# entries do: a contact by e-mail, a company, deal or custom record by name.
LINKED = {RelationType.CONTACT: (Contact, "email"), RelationType.COMPANY: (Company, "name"),
          RelationType.DEAL: (Deal, "name"), RelationType.RECORD: (Record, "title")}


def relative_date(value):
    """"today", "today+30" or "today-90" as an ISO date, "today+2 15:00" as an ISO date
    and time in the current time zone; any other value as it is."""
    if not isinstance(value, str) or not (match := RELATIVE_DATE.match(value)):
        return value
    day = timezone.localdate() + dt.timedelta(days=int(match["days"] or 0))
    if match["time"] is None:
        return day.isoformat()
    moment = dt.datetime.combine(day, dt.time.fromisoformat(match["time"]))
    return timezone.make_aware(moment).isoformat()


class SampleData(Block):
    section = "sample_data"
    label = "Sample records"
    order = 80

    def check(self, item, path, problems):
        kind = item.get("type")
        if kind not in KINDS:
            problems.add(f"{path}.type", "must be one of: " + ", ".join(KINDS))
            return
        problems.only(item, path, FIELDS[kind] | {"type"})
        name = "email" if kind == "contact" else "name"
        problems.text(item, name, path, limit=200)
        if kind == "record":
            problems.text(item, "record_type", path, limit=50)
            problems.mapping(item.get("values"), f"{path}.values")
        if kind == "deal":
            problems.text(item, "pipeline", path, limit=120)
            problems.text(item, "stage", path, limit=120)
        consents = item.get("consents", [])
        if not isinstance(consents, list):
            problems.add(f"{path}.consents", "must list channel, purpose and status")
            consents = []
        for index, consent in enumerate(consents):
            where = f"{path}.consents[{index}]"
            if problems.mapping(consent, where):
                problems.only(consent, where, {"channel", "purpose", "status"})
                for name in ("channel", "purpose", "status"):
                    problems.text(consent, name, where, limit=20)

    def key(self, item):
        name = item.get("email") if item.get("type") == "contact" else item.get("name")
        if item.get("type") == "record":
            return f"record:{item.get('record_type')}:{str(name or '').strip().lower()}"
        return f"{item.get('type')}:{str(name or '').strip().lower()}"

    def describe(self, item):
        if item.get("type") == "contact":
            return f"contact {item.get('first_name', '')} {item.get('last_name', '')}".strip()
        if item.get("type") == "record":
            return f"{item.get('record_type')} {item.get('name')}"
        return f"{item.get('type')} {item.get('name')}"

    def existing(self, ctx, item):
        if item["type"] == "contact":
            return Contact.objects.filter(email__iexact=item["email"].strip()).first()
        if item["type"] == "record":
            return Record.objects.filter(record_type__key=item["record_type"],
                                         title__iexact=item["name"].strip()).first()
        return KINDS[item["type"]].objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        if item["type"] == "record":
            return self._record(ctx, item)
        data = {name: value for name, value in item.items() if name != "type"}
        if "custom_fields" in data:
            data["custom_fields"] = {key: relative_date(value)
                                     for key, value in data["custom_fields"].items()}
        if item["type"] == "company":
            return customers.create_company(ctx.org, ctx.actor, data=data)
        if "company" in data:
            data["company"] = self._pk(Company, "company", data["company"])
        if item["type"] == "contact":
            consents = data.pop("consents", [])
            contact = customers.create_contact(ctx.org, ctx.actor, data=data)
            for consent in consents:
                customers.record_consent(ctx.org, ctx.actor, contact, **consent,
                                         method=ConsentMethod.WRITTEN,
                                         evidence="Sample record of an industry pack")
            return contact
        pipeline = Pipeline.objects.filter(name__iexact=data.pop("pipeline")).first()
        stage = pipeline and pipeline.stages.filter(name__iexact=data.pop("stage")).first()
        if stage is None:
            raise InvalidInput({"stage": "No such stage in the pipeline."})
        data.update(pipeline=pipeline.pk, stage=stage.pk)
        if "contact" in data:
            contact = Contact.objects.filter(email__iexact=data.pop("contact")).first()
            if contact is None:
                raise InvalidInput({"contact": "No sample contact with this address."})
            data["contacts"] = [{"contact": contact.pk}]
        if "expected_close" in data:
            data["expected_close_date"] = relative_date(data.pop("expected_close"))
        return sales.create_deal(ctx.org, ctx.actor, data=data)

    def _record(self, ctx, item):
        record_type = RecordType.objects.filter(key=item["record_type"]).first()
        if record_type is None:
            raise InvalidInput({"record_type": "No record type with this key."})
        values = {}
        for key, value in item["values"].items():
            field = record_type.fields.filter(key=key).first()
            if field is None or not field.is_relation:
                values[key] = relative_date(value)
                continue
            names = value if isinstance(value, list) else [value]
            linked = [self._linked(field, f"values.{key}", name) for name in names]
            values[key] = linked if isinstance(value, list) else linked[0]
        # A sample of a type with party fields goes through the conflict check
        # like any other record; the member applying the pack confirms it.
        record = records.create_record(ctx.org, ctx.actor, record_type,
                                       data={"values": values, "conflict_checked": True})
        if record.title.lower() != item["name"].strip().lower():
            raise InvalidInput({"name": "Must be the record's title, the value of the type's "
                                        f"title field ({record_type.title_field or 'none'})."})
        return record

    @staticmethod
    def _linked(field, path: str, name) -> int:
        model, attribute = LINKED[field.field_type]
        found = model.objects.filter(**{f"{attribute}__iexact": str(name).strip()})
        if field.field_type == RelationType.RECORD:
            found = found.filter(record_type=field.target)
        record = found.first()
        if record is None:
            raise InvalidInput({path: f"No sample record named {name!r}."})
        return record.pk

    @staticmethod
    def _pk(model, field: str, name: str) -> int:
        record = model.objects.filter(name__iexact=name).first()
        if record is None:
            raise InvalidInput({field: f"No sample {field} named {name!r}."})
        return record.pk

    def find(self, ctx, key, object_id):
        model = KINDS[key.partition(":")[0]]
        return model.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        # A record untouched itself may still have gained a note, a call or a
        # relationship, which are people's work and go with it.
        kind = {Contact: "contact", Company: "company", Deal: "deal",
                Record: "custom_record"}[type(obj)]
        logged = Activity.objects.filter(**{kind: obj}).exclude(kind=Kind.SYSTEM).count()
        if kind == "contact":
            logged += Relationship.objects.filter(Q(contact=obj) | Q(related=obj)).count()
        # Sample records linking to it were removed before it, unless kept.
        linked = RecordLink.objects.filter(
            **{"target" if kind == "custom_record" else kind: obj}).count()
        if linked:
            return f"{linked} custom record link(s) point at it"
        return f"{logged} activity or relationship record(s) hang off it" if logged else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        if changed or self.holds_data(ctx, obj):
            trash = {Contact: customers.delete_contact, Company: customers.delete_company,
                     Deal: sales.delete_deal, Record: records.delete_record}[type(obj)]
            trash(ctx.org, ctx.actor, obj)
            return "moved to the trash"
        audit.record(ctx.org, ctx.actor, Action.PURGE, obj)
        record_id = obj.pk
        obj.delete()
        search.reindex(type(obj), [record_id])
        return ""


register(SampleData())
