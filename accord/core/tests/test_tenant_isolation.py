"""Walks every URL pattern and API route as a member of another organisation.

Each route that takes a record id is called with the ids of records that
belong to the first organisation, by every method the route might accept;
every answer must be 404 (or 405 where the method does not exist), never the
record, never 403, never a server error.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scope

from accord.activities import services as activity_services
from accord.customers import duplicates
from accord.customers import services as customer_services
from accord.customers.models import Contact, CustomField, DuplicatePair, SavedView
from accord.identity import services as identity_services
from accord.identity.models import ApiToken, Membership, Role
from accord.integrations import services as import_services
from accord.integrations.models import ExportJob
from accord.marketing import sequences
from accord.privacy import retention
from accord.privacy.models import DataRequest
from accord.records import services as record_services
from accord.relationships import services as relationship_services

# Two of each kind: enough that ids of every table are probed on every route,
# since a route does not say which table its id belongs to.
PROBES_PER_TABLE = 2
SECRET = "Zanzibar-Quokka"  # a name that must never appear in the outsider's answers


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>|\{(?P<api>[^}:]+)(?::[^}]+)?\}")


# Routes keyed by a one-time secret rather than a record id (password reset,
# invitation links) answer with their own "link not valid" page.
SECRET_PARAMS = {"uidb64", "token"}


def record_params(route: str) -> list[str]:
    names = [m.group("name") or m.group("api") for m in PARAM.finditer(route)]
    return [] if SECRET_PARAMS & set(names) else names


def fill(route: str, value) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    return "/" + PARAM.sub(str(value), route)


@pytest.fixture
def victim(make_org, make_member, tmp_path):
    """An organisation with several of every kind of record, named SECRET."""
    org = make_org("Victim")
    admin = Membership.unscoped.get(organization=org, role=Role.ADMIN)
    user = admin.user
    ids = set()
    people = []
    with scope(organization=org):
        for number in range(PROBES_PER_TABLE):
            member = make_member(org, Role.SALES, email=f"victim{number}@example.com")
            company = customer_services.create_company(org, user, data={
                "name": f"{SECRET} Company {number}", "domain": f"v{number}.example"})
            contact = customer_services.create_contact(org, user, data={
                "first_name": SECRET, "last_name": f"Contact {number}", "company": company.pk,
                "email": f"secret{number}@victim.example", "tags": [f"{SECRET} tag"]})
            note = activity_services.log_activity(org, user, data={
                "kind": "note", "body": f"{SECRET} note", "contact": contact})
            task = activity_services.log_activity(org, user, data={
                "kind": "task", "subject": f"{SECRET} task", "contact": contact})
            team = identity_services.save_team(org, user, name=f"{SECRET} Team {number}")
            token, _ = identity_services.create_token(org, user, name=f"{SECRET} token")
            field = CustomField.objects.create(
                organization=org, entity="contact", key=f"secret_{number}",
                label=f"{SECRET} field", field_type="text")
            view = SavedView.objects.create(organization=org, entity="contact",
                                            name=f"{SECRET} view", owner=user)
            upload = tmp_path / f"secret{number}.csv"
            upload.write_text(f"email,first_name\nsecret{number}@victim.example,{SECRET}\n")
            job = import_services.create_job(org, user, entity="contact", path=upload)
            export = ExportJob.objects.create(organization=org, entity="contacts",
                                              format="csv", query=f"q={SECRET}",
                                              status="done", created_by=user)
            request = DataRequest.objects.create(organization=org, kind="export",
                                                 contact_id=contact.pk, status="done",
                                                 requested_by=user)
            rule = retention.save_retention_rule(org, user, {
                "name": f"{SECRET} rule", "entity": "activity", "age_days": 30,
                "action": "delete"})
            sequence = sequences.save_sequence(org, user, {
                "name": f"{SECRET} sequence {number}", "from_email": "news@victim.example",
                "steps": [{"type": "wait", "amount": 1, "unit": "days"}]})
            enrolment = sequences.enrol_contact(org, user, sequence, contact)
            record_type = record_services.save_type(org, user, {
                "key": f"secret_{number}", "singular": SECRET, "plural": f"{SECRET}s",
                "title_field": "name", "fields": [
                    {"key": "name", "label": f"{SECRET} name", "type": "text"},
                    {"key": "client", "type": "contact"}]})
            record = record_services.create_record(org, user, record_type, data={
                "values": {"name": f"{SECRET} record {number}", "client": contact.pk}})
            record_note = activity_services.log_activity(org, user, data={
                "kind": "note", "body": f"{SECRET} record note", "custom_record": record})
            ids |= {member.pk, member.user_id, company.pk, contact.pk, note.pk, task.pk,
                    team.pk, token.pk, field.pk, view.pk, export.pk, job.pk, request.pk,
                    rule.pk, sequence.pk, enrolment.pk, record_type.pk, record.pk,
                    record_note.pk, *record_type.fields.values_list("pk", flat=True)}
            people.append(contact)
        # Relationships between the victim's contacts, and roles of its own.
        admin_membership = Membership.objects.get(user=user)
        for number in range(PROBES_PER_TABLE):
            role = relationship_services.save_role(org, user, data={
                "label": f"{SECRET} role {number}", "inverse_label": f"{SECRET} other"})
            relationship = relationship_services.add_relationship(
                org, user, admin_membership, people[number], data={
                    "related": people[number - 1].pk, "role": role.key,
                    "note": f"{SECRET} note"})
            ids |= {role.pk, relationship.pk}
        # Possible duplicates (`pair_id`): the same person entered twice, per probe.
        for number in range(PROBES_PER_TABLE):
            customer_services.create_contact(org, user, data={
                "first_name": SECRET, "last_name": f"Contact {number}",
                "email": f"secret{number}@victim.example"})
        duplicates.scan(org, Contact)
        pairs = set(DuplicatePair.objects.values_list("pk", flat=True))
        assert len(pairs) >= PROBES_PER_TABLE
        ids |= pairs
    return org, ids


@pytest.fixture
def outsider(victim, make_org):
    org = make_org("Outsider")
    with scope(organization=org):
        membership = Membership.objects.get()
        _, raw = identity_services.create_token(org, membership.user, name="outsider")
    return membership, raw


# The routes are probed in shards so that parallel test workers share them.
SHARDS = 4
# Web pages route every method to one view, which either refuses the method
# or handles it as GET or POST; the API routes each method separately.
WEB_METHODS = ("get", "post")
API_METHODS = ("get", "post", "patch", "put", "delete")


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_route_reveals_another_organizations_records(victim, outsider, shard):
    _, victim_ids = victim
    membership, raw_token = outsider
    own_ids = {membership.pk, membership.user_id, membership.organization_id}
    own_ids |= set(ApiToken.unscoped.filter(user=membership.user).values_list("pk", flat=True))
    probes = sorted(victim_ids - own_ids)
    web = Client()
    web.force_login(membership.user)
    api = Client(headers={"Authorization": f"Bearer {raw_token}"})

    failures, checked = [], 0
    routes = [route for route, _pattern in walk(get_resolver().url_patterns)
              if record_params(route)]
    for route in routes[shard::SHARDS]:
        client = api if route.startswith("api/") else web
        methods = API_METHODS if route.startswith("api/") else WEB_METHODS
        for probe in probes:
            url = fill(route, probe)
            for method in methods:
                response = getattr(client, method)(url, content_type="application/json")
                checked += 1
                body = response.content.decode(errors="replace")
                if response.status_code not in (404, 405) or SECRET in body:
                    failures.append(f"{method.upper()} {url} -> {response.status_code}")

    assert checked > 500 // SHARDS
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("param", ["company_id", "owner_id", "tag", "parent_id"])
def test_list_filters_with_another_organizations_ids_find_nothing(victim, outsider, param):
    _, victim_ids = victim
    membership, raw_token = outsider
    web = Client()
    web.force_login(membership.user)
    api = Client(headers={"Authorization": f"Bearer {raw_token}"})
    values = [f"{SECRET} tag"] if param == "tag" else sorted(victim_ids)

    leaks = []
    for path, client in [("/contacts/", web), ("/companies/", web),
                         ("/contacts/export", web), ("/companies/export", web),
                         ("/api/v1/contacts", api), ("/api/v1/companies", api),
                         ("/api/v1/activities", api), ("/search", web)]:
        for value in values:
            response = client.get(path, {param: value, "q": ""})
            body = response.content.decode(errors="replace")
            # The filter value itself may be echoed back in the filter bar; the
            # records' e-mails and company names must not be.
            if "@victim.example" in body or f"{SECRET} Company" in body:
                leaks.append(f"{path}?{param}={value} -> {response.status_code}")

    assert not leaks, "\n".join(leaks)
