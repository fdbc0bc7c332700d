"""Campaigns sent at a time of day in each recipient's own time zone."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from accord.customers import services as customer_services
from accord.marketing import campaigns, sending
from accord.marketing.models import Campaign, CampaignRecipient, Segment

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ZONES = {"tokyo": "Asia/Tokyo", "berlin": "", "york": "America/New_York"}


@pytest.fixture(autouse=True)
def no_send_limit(settings):
    settings.CAMPAIGN_SEND_RATE = 0


@pytest.fixture
def world(org, admin, in_org):
    """Contacts in Tokyo, New York and one without a time zone, in a Berlin organisation."""
    org.time_zone = "Europe/Berlin"
    org.save(update_fields=["time_zone"])
    with in_org(org):
        people = {}
        for name, zone in ZONES.items():
            people[name] = customer_services.create_contact(org, admin.user, data={
                "first_name": name, "email": f"{name}@example.com", "time_zone": zone})
            customer_services.record_consent(org, admin.user, people[name], channel="email",
                                             purpose="marketing", status="granted",
                                             method="web_form")
        segment = Segment.objects.create(organization=org, name="Everyone",
                                         conditions={"all": []})
        template = campaigns.create_template(org, admin.user, data={
            "name": "Morning", "subject": "Good morning", "html": "<p>Hi</p>"})
    return people, segment, template


def clock_time_from_now(hours: int) -> dt.datetime:
    """A whole minute `hours` ahead of now as a clock time (naive), the same in every zone."""
    return (timezone.now() + dt.timedelta(hours=hours)).replace(
        second=0, microsecond=0, tzinfo=None)


def test_each_recipient_gets_the_campaign_at_the_time_of_day_in_their_zone(
        org, admin, world, in_org, api_client_for, smtp_inbox, monkeypatch):
    people, segment, template = world
    local = clock_time_from_now(4)  # past in Tokyo, ahead in Berlin and New York
    due = {name: local.replace(tzinfo=zoneinfo.ZoneInfo(zone or "Europe/Berlin"))
           for name, zone in ZONES.items()}
    api = api_client_for(admin)
    made = api.post("/api/v1/campaigns", {
        "name": "Morning", "template_id": template.pk, "segment_id": segment.pk,
        "from_email": "news@northwind.example", "in_recipient_time_zone": True,
        "scheduled_at": local.replace(tzinfo=BERLIN).isoformat()},
        content_type="application/json")
    assert made.status_code == 201, made.json()
    assert made.json()["in_recipient_time_zone"] is True

    with in_org(org):
        before = campaigns.start_due_campaigns(now=due["tokyo"] - dt.timedelta(
            hours=5, minutes=1))  # Tokyo is UTC+9: UTC+14 reaches the time 5 hours earlier
        started = campaigns.start_due_campaigns()
        campaign = Campaign.objects.get()
        waiting = dict(CampaignRecipient.objects.values_list("contact__first_name",
                                                             "next_attempt_at"))
        first = sending.send_campaign(org, campaign)
        campaign.refresh_from_db()

    assert (before, started) == (0, 1)
    assert waiting == {"tokyo": None, "berlin": due["berlin"], "york": due["york"]}
    assert first == 1
    assert [message["To"] for _rcpt, message in smtp_inbox.messages] == ["tokyo@example.com"]
    assert campaign.status == "sending"
    assert campaign.heartbeat_at == due["berlin"]

    # Berlin's time comes; New York's not yet.
    later = due["berlin"] + dt.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with in_org(org):
        second = sending.send_campaign(org, campaign)
        campaign.refresh_from_db()
    assert second == 1
    assert campaign.heartbeat_at == due["york"]

    latest = due["york"] + dt.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: latest)
    with in_org(org):
        third = sending.send_campaign(org, campaign)
        campaign.refresh_from_db()
    assert (third, campaign.status) == (1, "sent")
    assert sorted(message["To"] for _rcpt, message in smtp_inbox.messages) == [
        "berlin@example.com", "tokyo@example.com", "york@example.com"]


def test_send_now_goes_to_everyone_at_once_whatever_their_zone(org, admin, world, in_org):
    _people, segment, template = world
    with in_org(org):
        campaign = campaigns.create_campaign(org, admin.user, data={
            "name": "Morning", "template": template.pk, "segment": segment.pk,
            "from_email": "news@northwind.example", "in_recipient_time_zone": True,
            "scheduled_at": timezone.now() + dt.timedelta(days=2)})
        campaigns.start_campaign(org, admin.user, campaign)
        waiting = set(CampaignRecipient.objects.values_list("next_attempt_at", flat=True))
    assert waiting == {None}


def test_a_campaign_in_recipients_time_zones_needs_a_time(org, admin, world, client_for):
    _people, segment, template = world

    answer = client_for(admin).post("/campaigns/new/", {
        "name": "Morning", "template": template.pk, "segment": segment.pk,
        "from_email": "news@northwind.example", "in_recipient_time_zone": "on"})

    assert answer.status_code == 422
    assert "each recipient gets the e-mail at that time of day" in answer.content.decode()


def test_taking_the_time_off_a_campaign_in_recipients_zones_needs_the_flag_off(
        org, admin, world, in_org, api_client_for):
    _people, segment, template = world
    api = api_client_for(admin)
    made = api.post("/api/v1/campaigns", {
        "name": "Morning", "template_id": template.pk, "segment_id": segment.pk,
        "from_email": "news@northwind.example", "in_recipient_time_zone": True,
        "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat()},
        content_type="application/json").json()
    url = f"/api/v1/campaigns/{made['id']}"

    refused = api.patch(url, {"scheduled_at": None, "version": made["version"]},
                        content_type="application/json")
    unchanged = api.get(url).json()
    unscheduled = api.patch(url, {"scheduled_at": None, "in_recipient_time_zone": False,
                                  "version": made["version"]},
                            content_type="application/json")

    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["scheduled_at"]
    assert (unchanged["status"], unchanged["in_recipient_time_zone"]) == ("scheduled", True)
    assert unscheduled.status_code == 200
    assert (unscheduled.json()["status"], unscheduled.json()["scheduled_at"],
            unscheduled.json()["in_recipient_time_zone"]) == ("draft", None, False)


def test_cancelling_marks_recipients_waiting_for_their_zone_not_sent(
        org, admin, world, in_org, client_for, smtp_inbox):
    _people, segment, template = world
    with in_org(org):
        campaign = campaigns.create_campaign(org, admin.user, data={
            "name": "Morning", "template": template.pk, "segment": segment.pk,
            "from_email": "news@northwind.example", "in_recipient_time_zone": True,
            "scheduled_at": timezone.now() + dt.timedelta(hours=20)})
        campaign = campaigns.start_campaign(org, admin.user, campaign, by_schedule=True)
        waiting = CampaignRecipient.objects.filter(status="pending").count()
    client = client_for(admin)

    cancelled = client.post(f"/campaigns/{campaign.pk}/cancel/", {"version": campaign.version})
    with in_org(org):
        CampaignRecipient.objects.update(next_attempt_at=timezone.now())  # all now due
        sent = sending.send_campaign(org, campaigns.get_campaign(campaign.pk))
        statuses = set(CampaignRecipient.objects.values_list("status", flat=True))
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()

    assert waiting == 3
    assert cancelled.status_code == 302
    assert (sent, smtp_inbox.messages) == (0, [])
    assert statuses == {"cancelled"}
    assert "<dt>Waiting</dt><dd>0</dd>" in page
    assert "Not sent: the campaign was cancelled</dt><dd>3</dd>" in page
