"""/api/v1/templates and /api/v1/campaigns with a bearer token, and how the sender treats
refusals from the mail server."""

import pytest
from aiosmtpd.controller import Controller

from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.marketing import campaigns, sending
from accord.marketing.models import CampaignRecipient, Segment, SuppressedAddress
from conftest import Inbox, free_port


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING)


@pytest.fixture
def segment(org, admin, in_org):
    with in_org(org):
        for name in ("ada", "bad", "later"):
            contact = customer_services.create_contact(org, admin.user, data={
                "first_name": name.title(), "email": f"{name}@example.com"})
            customer_services.record_consent(org, admin.user, contact, channel="email",
                                             purpose="marketing", status="granted",
                                             method="web_form")
        return Segment.objects.create(organization=org, name="All", conditions={"all": []})


def test_template_and_campaign_are_created_changed_started_and_reported(
        org, marketer, segment, api_client_for, in_org):
    api = api_client_for(marketer)

    template = api.post("/api/v1/templates", {
        "name": "Hello", "subject": "Hi {{ contact.first_name }}",
        "html": "<p>Hi</p><script>x()</script>"}, content_type="application/json")
    template_id = template.json()["id"]
    bad = api.post("/api/v1/templates", {"name": "Loop", "subject": "x",
                                         "html": "{% for a in b %}{% endfor %}"},
                   content_type="application/json")
    preview = api.get(f"/api/v1/templates/{template_id}/preview")
    campaign = api.post("/api/v1/campaigns", {
        "name": "Hello all", "template_id": template_id, "segment_id": segment.pk,
        "from_email": "news@northwind.example"}, content_type="application/json")
    campaign_id = campaign.json()["id"]
    renamed = api.patch(f"/api/v1/campaigns/{campaign_id}", {"name": "Hello everyone",
                                                             "version": 1},
                        content_type="application/json")
    stale = api.patch(f"/api/v1/campaigns/{campaign_id}", {"name": "Late", "version": 1},
                      content_type="application/json")
    started = api.post(f"/api/v1/campaigns/{campaign_id}/start")
    again = api.post(f"/api/v1/campaigns/{campaign_id}/start")
    report = api.get(f"/api/v1/campaigns/{campaign_id}/report")
    listed = api.get("/api/v1/campaigns?status=sending")
    in_use = api.delete(f"/api/v1/templates/{template_id}")

    assert template.status_code == 201
    assert template.json()["html"] == "<p>Hi</p>"
    assert template.json()["text"] == "Hi\n"
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{
        "field": "html", "code": "invalid",
        "message": "The tag {% for %} cannot be used here; use merge fields, if and with."}]
    assert preview.json()["subject"] == "Hi"
    assert campaign.status_code == 201
    assert campaign.json()["status"] == "draft"
    assert (renamed.status_code, renamed.json()["version"]) == (200, 2)
    assert stale.status_code == 409
    assert (started.status_code, started.json()["status"]) == (200, "sending")
    assert again.status_code == 422
    assert report.json()["statuses"]["pending"] == 3
    assert [item["name"] for item in listed.json()["items"]] == ["Hello everyone"]
    assert in_use.status_code == 409


def test_another_organisations_campaign_answers_404(org, other_org, admin, segment, in_org,
                                                   make_member, api_client_for):
    with in_org(org):
        template = campaigns.create_template(org, admin.user, data={
            "name": "T", "subject": "S", "html": "<p>x</p>"})
        campaign = campaigns.create_campaign(org, admin.user, data={
            "name": "C", "template": template.pk, "segment": segment.pk,
            "from_email": "a@northwind.example"})
    outsider = api_client_for(make_member(other_org, Role.MARKETING))

    answers = [outsider.get(f"/api/v1/campaigns/{campaign.pk}").status_code,
               outsider.post(f"/api/v1/campaigns/{campaign.pk}/start").status_code,
               outsider.get(f"/api/v1/templates/{template.pk}").status_code]

    assert answers == [404, 404, 404]


class Refusing(Inbox):
    """Refuses bad@ for good (550) and later@ for now (451); accepts the rest."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's hook name
        if address.startswith("bad@"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("later@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_address_bounces_and_a_busy_one_is_tried_again_later(
        org, admin, segment, in_org, settings, monkeypatch):
    inbox = Refusing()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.CAMPAIGN_SEND_RATE = 0
    queued = []
    monkeypatch.setattr(campaigns, "queue_sending",
                        lambda *args, **kwargs: queued.append((args, kwargs)))
    try:
        with in_org(org):
            template = campaigns.create_template(org, admin.user, data={
                "name": "T", "subject": "S", "html": "<p>x</p>"})
            campaign = campaigns.create_campaign(org, admin.user, data={
                "name": "C", "template": template.pk, "segment": segment.pk,
                "from_email": "a@northwind.example"})
            campaign = campaigns.start_campaign(org, admin.user, campaign)
            sent = sending.send_campaign(org, campaign)
            rows = {r.address: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
            campaign.refresh_from_db()
            suppressed = list(SuppressedAddress.objects.values_list("address", "reason"))
    finally:
        server.stop()

    assert sent == 1
    assert [rcpt for rcpt, _message in inbox.messages] == [["ada@example.com"]]
    assert (rows["bad@example.com"].status, rows["bad@example.com"].error) == (
        "bounced", "550 5.1.1 No such mailbox")
    assert (rows["later@example.com"].status, rows["later@example.com"].attempts) == (
        "pending", 1)
    assert rows["later@example.com"].next_attempt_at is not None
    assert campaign.status == "sending"
    assert len(queued) == 1
    assert queued[0][1]["countdown"] > 50
    assert suppressed == [("bad@example.com", "bounced")]


def _draft(api, segment_id: int) -> tuple[dict, dict]:
    template = api.post("/api/v1/templates", {"name": "News", "subject": "Hi",
                                              "html": "<p>Hi</p>"},
                        content_type="application/json").json()
    campaign = api.post("/api/v1/campaigns", {
        "name": "Spring", "template_id": template["id"], "segment_id": segment_id,
        "from_email": "news@northwind.example"}, content_type="application/json").json()
    return template, campaign


def test_a_campaign_that_sent_nothing_is_deleted_and_frees_its_template_and_segment(
        org, marketer, segment, api_client_for, in_org):
    api = api_client_for(marketer)
    template, campaign = _draft(api, segment.pk)

    template_in_use = api.delete(f"/api/v1/templates/{template['id']}")
    segment_in_use = api.delete(f"/api/v1/segments/{segment.pk}")
    stale = api.delete(f"/api/v1/campaigns/{campaign['id']}?version=7")
    deleted = api.delete(f"/api/v1/campaigns/{campaign['id']}?version=1")
    gone = api.get(f"/api/v1/campaigns/{campaign['id']}")
    template_deleted = api.delete(f"/api/v1/templates/{template['id']}")
    segment_deleted = api.delete(f"/api/v1/segments/{segment.pk}")

    assert (template_in_use.status_code, segment_in_use.status_code) == (409, 409)
    assert template_in_use.json()["detail"] == (
        "A campaign uses this template; delete the campaign first. A campaign that has sent "
        "e-mail cannot be deleted: its report needs the template.")
    assert segment_in_use.json()["detail"] == (
        "A campaign uses this segment; delete the campaign first. A campaign that has sent "
        "e-mail cannot be deleted: its report needs the segment.")
    assert stale.status_code == 409
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert (template_deleted.status_code, segment_deleted.status_code) == (204, 204)


def test_a_sending_campaign_is_cancelled_before_it_is_deleted(marketer, segment,
                                                              api_client_for):
    api = api_client_for(marketer)
    _template, campaign = _draft(api, segment.pk)
    api.post(f"/api/v1/campaigns/{campaign['id']}/start")

    sending_refused = api.delete(f"/api/v1/campaigns/{campaign['id']}")
    api.post(f"/api/v1/campaigns/{campaign['id']}/cancel")
    deleted = api.delete(f"/api/v1/campaigns/{campaign['id']}")

    assert sending_refused.status_code == 409
    assert sending_refused.json()["detail"] == \
        "This campaign is sending; cancel it before deleting it."
    assert deleted.status_code == 204


def test_a_campaign_that_sent_email_keeps_its_report_and_cannot_be_deleted(
        org, marketer, segment, api_client_for, client_for, in_org, smtp_inbox):
    api = api_client_for(marketer)
    _template, campaign = _draft(api, segment.pk)
    api.post(f"/api/v1/campaigns/{campaign['id']}/start")
    with in_org(org):
        sending.send_campaign(org, campaigns.get_campaign(campaign["id"]))

    refused = api.delete(f"/api/v1/campaigns/{campaign['id']}")
    page = client_for(marketer).get(f"/campaigns/{campaign['id']}/")
    by_page = client_for(marketer).post(f"/campaigns/{campaign['id']}/delete/", follow=True)

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "This campaign has sent e-mail, and its report is kept; it cannot be deleted.")
    assert f'href="/campaigns/{campaign["id"]}/delete/"' not in page.content.decode()
    assert "its report is kept; it cannot be deleted." in by_page.content.decode()
    assert api.get(f"/api/v1/campaigns/{campaign['id']}/report").status_code == 200


def test_a_draft_campaign_is_deleted_from_its_page(org, marketer, segment, api_client_for,
                                                   client_for):
    _template, campaign = _draft(api_client_for(marketer), segment.pk)
    client = client_for(marketer)

    page = client.get(f"/campaigns/{campaign['id']}/")
    confirm = client.get(f"/campaigns/{campaign['id']}/delete/")
    deleted = client.post(f"/campaigns/{campaign['id']}/delete/", {"version": 1})
    gone = client.get(f"/campaigns/{campaign['id']}/")

    assert f'href="/campaigns/{campaign["id"]}/delete/"' in page.content.decode()
    assert "Only a campaign that has sent no e-mail can be deleted." in \
        confirm.content.decode()
    assert deleted.status_code == 302
    assert deleted["Location"] == "/campaigns/"
    assert gone.status_code == 404
