"""Record visibility in sequences and campaigns: a marketer whose role sees only their own
contacts enrols, counts and mails only those, and cannot name a custom field hidden from
their role in a step. An admin still reaches and counts the whole segment."""

from types import SimpleNamespace

import pytest

from accord.customers import services as customer_services
from accord.customers.models import Contact, CustomField
from accord.identity import visibility
from accord.identity.models import Role
from accord.marketing import sending, sequence_runner
from accord.marketing.models import Campaign, Segment

QUASAR = {"all": [{"field": "email", "op": "contains", "value": "quasar"}]}
HIDDEN_KEYS = ("annual_income", "net_worth", "health_disclosures")


@pytest.fixture(autouse=True)
def no_send_limit(settings):
    settings.CAMPAIGN_SEND_RATE = 0


@pytest.fixture
def world(org, admin, make_member, in_org):
    """Kim the marketer owns one "quasar" contact; two more belong to a seller. Three
    custom fields are hidden from marketing, one is not."""
    kim = make_member(org, Role.MARKETING, full_name="Kim Marketer")
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    with in_org(org):
        for key in HIDDEN_KEYS:
            CustomField.objects.create(organization=org, entity="contact", key=key,
                                       label=key.replace("_", " ").title(), field_type="text",
                                       hidden_from_roles=[Role.MARKETING])
        CustomField.objects.create(organization=org, entity="contact", key="colour",
                                   label="Colour", field_type="text")
        people = {}
        for name, owner in (("mine", kim), ("theirs", seller), ("other", seller)):
            contact = customer_services.create_contact(org, admin.user, data={
                "first_name": name.title(), "email": f"{name}@quasar.example",
                "owner": owner.user_id, "custom_fields": {"annual_income": "50000"}})
            customer_services.record_consent(org, admin.user, contact, channel="email",
                                             purpose="marketing", status="granted",
                                             method="web_form")
            people[name] = contact
        segment = Segment.objects.create(organization=org, name="Quasar", conditions=QUASAR)
        visibility.update_visibility(org, admin.user, roles={Role.MARKETING: {"contacts": "own"}})
    return SimpleNamespace(kim=kim, admin=admin, segment=segment, **people)


def _post(api, url, data):
    return api.post(url, data, content_type="application/json")


def _sequence(api, name, steps=None):
    response = _post(api, "/api/v1/sequences", {
        "name": name, "from_email": "news@northwind.example",
        "steps": steps or [{"type": "wait", "amount": 1, "unit": "days"}]})
    assert response.status_code == 201, response.json()
    return response.json()


def _enrolled(api, sequence_id):
    items = api.get(f"/api/v1/sequences/{sequence_id}/enrolments").json()["items"]
    return sorted(item["contact_id"] for item in items)


def test_a_marketer_enrols_counts_and_reads_only_the_contacts_they_see(
        world, api_client_for, client_for):
    kim, admin = api_client_for(world.kim), api_client_for(world.admin)
    sequence = _sequence(kim, "Quasar welcome")
    url = f"/api/v1/sequences/{sequence['id']}/enrolments"

    preview = _post(kim, "/api/v1/segments/preview", {"conditions": QUASAR})
    by_segment = _post(kim, url, {"segment_id": world.segment.pk})
    by_id = _post(kim, url, {"contact_ids": [world.theirs.pk, 999999]})
    by_admin = _post(admin, url, {"segment_id": world.segment.pk})
    hidden_row = admin.get(f"{url}?contact_id={world.theirs.pk}").json()["items"][0]
    hidden_read = kim.get(f"{url}/{hidden_row['id']}")
    hidden_page = client_for(world.kim).get(
        f"/sequences/{sequence['id']}/enrolments/{hidden_row['id']}/")
    hidden_remove = kim.delete(f"{url}/{hidden_row['id']}")
    report = kim.get(f"/api/v1/sequences/{sequence['id']}/report").json()
    admin_report = admin.get(f"/api/v1/sequences/{sequence['id']}/report").json()
    page = client_for(world.kim).get(f"/sequences/{sequence['id']}/enrolments/")

    assert preview.json()["count"] == 1
    assert by_segment.json() == {"enrolled": 1, "already": 0, "not_found": 0}
    # A hidden contact's id answers as a made-up one does.
    assert by_id.json() == {"enrolled": 0, "already": 0, "not_found": 2}
    assert by_admin.json() == {"enrolled": 2, "already": 1, "not_found": 0}
    assert _enrolled(kim, sequence["id"]) == [world.mine.pk]
    assert kim.get(f"{url}?contact_id={world.theirs.pk}").json()["items"] == []
    assert hidden_read.status_code == hidden_page.status_code == 404
    assert hidden_remove.status_code == 404
    assert report[0]["waiting"] == 1
    assert f"/contacts/{world.theirs.pk}/" not in page.content.decode()
    assert _enrolled(admin, sequence["id"]) == sorted(
        [world.mine.pk, world.theirs.pk, world.other.pk])
    assert admin_report[0]["waiting"] == 3


def test_a_sequence_of_a_marketer_picks_up_only_the_new_members_they_see(
        org, world, api_client_for, in_org):
    kim = api_client_for(world.kim)
    sequence = _sequence(kim, "Quasar nurture")
    sequence = kim.patch(f"/api/v1/sequences/{sequence['id']}", {
        "segment_id": world.segment.pk, "status": "active", "version": sequence["version"]},
        content_type="application/json").json()
    by_admin = _sequence(api_client_for(world.admin), "Quasar for all")
    api_client_for(world.admin).patch(f"/api/v1/sequences/{by_admin['id']}", {
        "segment_id": world.segment.pk, "status": "active", "version": by_admin["version"]},
        content_type="application/json")

    sequence_runner.enrol_new_members()

    assert _enrolled(api_client_for(world.admin), sequence["id"]) == [world.mine.pk]
    assert len(_enrolled(api_client_for(world.admin), by_admin["id"])) == 3


def test_a_step_cannot_set_a_field_hidden_from_the_authors_role(
        org, world, api_client_for, in_org):
    kim, admin = api_client_for(world.kim), api_client_for(world.admin)
    hidden = _post(kim, "/api/v1/sequences", {
        "name": "Income", "from_email": "news@northwind.example",
        "steps": [{"type": "set_field", "field": "cf.annual_income", "value": "1"}]})
    made_up = _post(kim, "/api/v1/sequences", {
        "name": "Made up", "from_email": "news@northwind.example",
        "steps": [{"type": "set_field", "field": "cf.no_such_field", "value": "1"}]})
    by_admin = _sequence(admin, "Income by admin",
                         [{"type": "set_field", "field": "cf.annual_income", "value": "1"}])
    renamed = kim.patch(f"/api/v1/sequences/{by_admin['id']}", {
        "name": "Income, renamed", "version": by_admin["version"]},
        content_type="application/json")
    kept = kim.patch(f"/api/v1/sequences/{by_admin['id']}", {
        "steps": [*by_admin["steps"], {"type": "add_tag", "tag": "vip"}],
        "version": renamed.json()["version"]}, content_type="application/json")
    changed = kim.patch(f"/api/v1/sequences/{by_admin['id']}", {
        "steps": [{**by_admin["steps"][0], "value": "2"}],
        "version": kept.json()["version"]}, content_type="application/json")

    assert hidden.status_code == made_up.status_code == 422
    message = hidden.json()["errors"][0]["message"]
    assert hidden.json()["errors"][0]["field"] == "steps[0].field"
    assert message == made_up.json()["errors"][0]["message"]
    assert "cf.colour" in message
    assert not any(key in message for key in HIDDEN_KEYS)
    assert renamed.status_code == kept.status_code == 200
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["message"] == message
    with in_org(org):
        assert Contact.objects.get(pk=world.mine.pk).custom_fields["annual_income"] == "50000"


def _campaign(api, segment_id):
    template = _post(api, "/api/v1/templates", {"name": f"News {segment_id} {id(api)}",
                                                "subject": "News", "html": "<p>Hi</p>"})
    campaign = _post(api, "/api/v1/campaigns", {
        "name": f"Quasar news {id(api)}", "template_id": template.json()["id"],
        "segment_id": segment_id, "from_email": "news@northwind.example"})
    assert campaign.status_code == 201, campaign.json()
    return campaign.json()["id"]


def _recipients(report):
    return report["recipients"], report["statuses"]["pending"]


def test_a_campaign_goes_to_and_counts_only_the_contacts_its_author_sees(
        org, world, api_client_for, client_for, in_org, smtp_inbox):
    kim, admin = api_client_for(world.kim), api_client_for(world.admin)
    by_kim = _campaign(kim, world.segment.pk)
    by_admin = _campaign(admin, world.segment.pk)
    # Kim starts her own; the admin's is started by the admin.
    _post(kim, f"/api/v1/campaigns/{by_kim}/start", {})
    _post(admin, f"/api/v1/campaigns/{by_admin}/start", {})

    kim_own = kim.get(f"/api/v1/campaigns/{by_kim}/report").json()
    kim_on_admins = kim.get(f"/api/v1/campaigns/{by_admin}/report").json()
    admin_on_admins = admin.get(f"/api/v1/campaigns/{by_admin}/report").json()
    page = client_for(world.kim).get(f"/campaigns/{by_admin}/").content.decode()
    with in_org(org):
        for pk in (by_kim, by_admin):
            sending.send_campaign(org, Campaign.objects.get(pk=pk))

    assert _recipients(kim_own) == (1, 1)
    assert _recipients(kim_on_admins) == (1, 1)
    assert _recipients(admin_on_admins) == (3, 3)
    assert "<dt>Contacts in the segment</dt><dd>1</dd>" in page
    delivered = sorted(rcpt[0] for rcpt, _message in smtp_inbox.messages)
    assert delivered == ["mine@quasar.example", "mine@quasar.example",
                         "other@quasar.example", "theirs@quasar.example"]


def test_a_campaign_of_an_admin_started_by_a_marketer_reaches_only_what_she_sees(
        world, api_client_for):
    kim, admin = api_client_for(world.kim), api_client_for(world.admin)
    campaign = _campaign(admin, world.segment.pk)

    started = _post(kim, f"/api/v1/campaigns/{campaign}/start", {})

    assert started.status_code == 200
    report = admin.get(f"/api/v1/campaigns/{campaign}/report").json()
    assert _recipients(report) == (1, 1)
