"""The record_types block: custom record types a pack brings, applied through the
records service and removed only when that loses nobody's records."""

import json

import pytest
from django_scopes import scope

from accord.customers.models import Contact
from accord.packs import document, services
from accord.packs.document import InvalidPack, parse
from accord.packs.models import InstalledObject
from accord.records import services as records
from accord.records.models import Record, RecordType

pytestmark = pytest.mark.django_db

HOUSEHOLD = {"key": "household", "singular": "Household", "plural": "Households",
             "title_field": "name",
             "fields": [{"key": "name", "label": "Name", "type": "text", "required": True},
                        {"key": "size", "label": "People", "type": "number"}]}
POLICY = {"key": "policy", "singular": "Policy", "plural": "Policies", "title_field": "number",
          "fields": [{"key": "number", "label": "Number", "type": "text", "required": True},
                     {"key": "household", "label": "Household", "type": "record",
                      "target": "household"},
                     {"key": "holder", "label": "Holder", "type": "contact"},
                     {"key": "premium", "label": "Premium", "type": "money",
                      "currency": "EUR"}]}


def pack(*types, **sections):
    # The policy links to the household, yet is listed first: the block orders them.
    return parse(json.dumps({"name": "insurance", "version": "1.0", "title": "Insurance",
                             "description": "Policies and households.",
                             "record_types": list(types), **sections}))


@pytest.fixture
def insurance(monkeypatch):
    def use(*types, **sections):
        loaded = pack(*types, **sections)
        monkeypatch.setattr(document, "load", lambda name: loaded)
        return loaded
    return use


def apply(org, admin):
    with scope(organization=org):
        return services.apply_pack(org, admin.user, "insurance")


def remove(org, admin, **options):
    with scope(organization=org):
        return services.remove_pack(org, admin.user, "insurance", **options)


def outcomes(summary, section="record_types"):
    return [(item.key, item.outcome, item.reason) for item in summary.outcomes
            if item.section == section]


def test_types_are_applied_after_the_types_they_link_to(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD)

    summary = apply(org, admin)

    assert outcomes(summary) == [("household", "added", ""), ("policy", "added", "")]
    with scope(organization=org):
        policy = RecordType.objects.get(key="policy")
        assert [field.key for field in policy.fields.order_by("position")] == [
            "number", "household", "holder", "premium"]
        assert policy.fields.get(key="household").target.key == "household"
        assert policy.title_field == "number"
        assert InstalledObject.objects.filter(block="record_types").count() == 2


def test_applying_again_changes_nothing(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD)
    apply(org, admin)
    with scope(organization=org):
        versions = dict(RecordType.objects.values_list("key", "version"))

    summary = apply(org, admin)

    assert outcomes(summary) == [("household", "installed", ""), ("policy", "installed", "")]
    with scope(organization=org):
        assert dict(RecordType.objects.values_list("key", "version")) == versions


def test_a_type_with_the_same_key_is_kept_as_it_is(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD)
    with scope(organization=org):
        records.save_type(org, admin.user, {
            "key": "household", "singular": "Family", "plural": "Families",
            "fields": [{"key": "name", "type": "text"}]})

    summary = apply(org, admin)
    removed = remove(org, admin)

    assert outcomes(summary) == [("household", "kept", "already exists"),
                                 ("policy", "added", "")]
    assert outcomes(removed) == [("policy", "removed", "")]
    with scope(organization=org):
        family = RecordType.objects.get()
        assert (family.key, family.plural) == ("household", "Families")
        assert not family.fields.filter(key="size").exists()


def test_removal_keeps_a_type_with_records_unless_data_may_be_deleted(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD)
    apply(org, admin)
    with scope(organization=org):
        household = RecordType.objects.get(key="household")
        smiths = records.create_record(org, admin.user, household,
                                       data={"values": {"name": "The Smiths"}})
        records.delete_record(org, admin.user, smiths)  # the trash still holds it

    kept = remove(org, admin)

    assert outcomes(kept) == [
        ("policy", "removed", ""),
        ("household", "kept", "1 record(s) of this type exist")]
    with scope(organization=org):
        assert list(RecordType.objects.values_list("key", flat=True)) == ["household"]

    deleted = remove(org, admin, delete_data=True)

    assert outcomes(deleted) == [("household", "removed", "1 record(s) deleted with it")]
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not InstalledObject.objects.exists()


def test_a_type_others_link_to_stays_while_they_are_kept(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD)
    apply(org, admin)
    with scope(organization=org):
        records.create_record(org, admin.user, RecordType.objects.get(key="policy"),
                              data={"values": {"number": "P-1"}})

    kept = remove(org, admin)

    assert outcomes(kept) == [
        ("policy", "kept", "1 record(s) of this type exist"),
        ("household", "kept", "fields of other record types link to it: Policies")]


def test_sample_records_link_to_sample_contacts_and_records(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD, sample_data=[
        {"type": "contact", "first_name": "Ada", "last_name": "Smith",
         "email": "ada@example.org"},
        {"type": "record", "record_type": "household", "name": "The Smiths",
         "values": {"name": "The Smiths", "size": 3}},
        {"type": "record", "record_type": "policy", "name": "P-1",
         "values": {"number": "P-1", "household": "The Smiths", "holder": "ada@example.org",
                    "premium": {"amount": "42.50", "currency": "EUR"}}}])

    apply(org, admin)
    with scope(organization=org):
        policy = Record.objects.get(title="P-1")
        links = {link.field.key: link for link in policy.links.select_related("field")}
        assert links["household"].target.title == "The Smiths"
        assert links["holder"].contact.email == "ada@example.org"
        assert policy.values["premium"] == {"amount": "42.50", "currency": "EUR"}

    removed = remove(org, admin)

    assert removed.counts()["kept"] == 0
    with scope(organization=org):
        assert not Record.with_deleted.exists()
        assert not RecordType.objects.exists()


def test_a_sample_record_naming_a_missing_link_is_refused_by_path(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD, sample_data=[
        {"type": "record", "record_type": "policy", "name": "P-1",
         "values": {"number": "P-1", "household": "The Joneses"}}])

    with pytest.raises(InvalidPack) as refused:
        apply(org, admin)

    assert refused.value.errors[0]["field"] == "sample_data[0].values.household"
    with scope(organization=org):
        assert not RecordType.objects.exists()


def test_every_problem_of_a_spec_is_named_by_its_path():
    broken = {**POLICY, "key": "Policy", "plural": "",
              "fields": [{"key": "number", "type": "text"},
                         {"key": "kind", "type": "choice"},
                         {"key": "cover", "type": "colour"},
                         {"key": "household", "type": "record"},
                         {"key": "number", "type": "text", "many": True}]}

    with pytest.raises(InvalidPack) as refused:
        pack(broken)

    fields = [error["field"] for error in refused.value.errors]
    assert fields == [
        "record_types[0].key", "record_types[0].plural",
        "record_types[0].fields[1].choices", "record_types[0].fields[2].type",
        "record_types[0].fields[3].target", "record_types[0].fields[4].many",
        "record_types[0].fields[4].key"]
    assert refused.value.errors[3]["message"].startswith("must be one of: text, long_text")


def test_types_that_link_to_each_other_are_refused():
    household = {**HOUSEHOLD, "fields": [
        *HOUSEHOLD["fields"], {"key": "policy", "type": "record", "target": "policy"}]}

    with pytest.raises(InvalidPack) as refused:
        pack(POLICY, household)

    assert [error["field"] for error in refused.value.errors] == [
        "record_types[0].fields", "record_types[1].fields"]


def test_a_problem_only_the_records_service_sees_names_the_field(org, admin, insurance):
    insurance({**HOUSEHOLD, "fields": [*HOUSEHOLD["fields"],
                                       {"key": "insurer", "type": "record",
                                        "target": "insurer"}]})

    with pytest.raises(InvalidPack) as refused:
        apply(org, admin)

    assert refused.value.errors == [{"field": "record_types[0].fields[2].target",
                                     "code": "invalid",
                                     "message": "There is no record type with this key."}]


def test_a_sample_contact_a_users_record_links_to_is_kept(org, admin, insurance):
    insurance(POLICY, HOUSEHOLD, sample_data=[
        {"type": "contact", "first_name": "Ada", "last_name": "Smith",
         "email": "ada@example.org"}])
    apply(org, admin)
    with scope(organization=org):
        ada = Contact.objects.get()
        records.create_record(org, admin.user, RecordType.objects.get(key="policy"),
                              data={"values": {"number": "P-9", "holder": ada.pk}})

    kept = remove(org, admin)

    assert outcomes(kept, "sample_data") == [
        ("contact:ada@example.org", "kept", "1 custom record link(s) point at it")]
    with scope(organization=org):
        assert Contact.objects.filter(pk=ada.pk).exists()
