"""A/B tests of a campaign's subject: halves of a share get A and B, the rest the winner."""

import datetime as dt
import re
from collections import Counter

import pytest
from django.utils import timezone

from accord.customers import services as customer_services
from accord.marketing import campaigns, sending, subject_test
from accord.marketing.models import Campaign, CampaignRecipient, Segment

A = "Spring news"
B = "{{ contact.first_name }}, your spring offer"


@pytest.fixture(autouse=True)
def no_send_limit(settings):
    settings.CAMPAIGN_SEND_RATE = 0


@pytest.fixture
def twenty(org, admin, in_org):
    """Twenty consenting contacts, a segment of them all and a template."""
    with in_org(org):
        for number in range(20):
            contact = customer_services.create_contact(org, admin.user, data={
                "first_name": f"P{number}", "email": f"p{number}@example.com"})
            customer_services.record_consent(org, admin.user, contact, channel="email",
                                             purpose="marketing", status="granted",
                                             method="web_form")
        segment = Segment.objects.create(organization=org, name="Everyone",
                                         conditions={"all": []})
        template = campaigns.create_template(org, admin.user, data={
            "name": "Spring", "subject": A, "html": "<p>Hello</p>"})
    return segment, template


def create(api, segment, template, **extra):
    return api.post("/api/v1/campaigns", {
        "name": "Spring", "template_id": template.pk, "segment_id": segment.pk,
        "from_email": "news@northwind.example", **extra}, content_type="application/json")


def subjects(inbox) -> Counter:
    return Counter("B" if message["Subject"].endswith("your spring offer") else "A"
                   for _rcpt, message in inbox.messages)


def test_the_better_subject_goes_to_the_held_recipients_once_the_test_is_over(
        org, admin, twenty, in_org, api_client_for, smtp_inbox, client):
    segment, template = twenty
    api = api_client_for(admin)
    made = create(api, segment, template, subject_b=B, test_percent=40, test_hours=2)
    assert made.status_code == 201, made.json()
    started = api.post(f"/api/v1/campaigns/{made.json()['id']}/start")
    assert started.json()["test_ends_at"] is not None

    with in_org(org):
        campaign = Campaign.objects.get()
        first = sending.send_campaign(org, campaign)
    during = api.get(f"/api/v1/campaigns/{campaign.pk}/report").json()

    assert first == 8
    assert subjects(smtp_inbox) == {"A": 4, "B": 4}
    assert api.get(f"/api/v1/campaigns/{campaign.pk}").json()["status"] == "sending"
    assert during["subject_test"]["held"] == 12
    assert during["subject_test"]["winner"] is None
    assert during["subject_test"]["b"]["subject"] == B

    # Two of the B half open their e-mail, nobody of the A half.
    opened = [message for _rcpt, message in smtp_inbox.messages
              if message["Subject"].endswith("your spring offer")][:2]
    for message in opened:
        html = message.get_body(("html",)).get_content()
        assert client.get(re.search(r"/t/o/[^\"]+\.gif", html).group(0)).status_code == 200

    with in_org(org):
        too_early = subject_test.choose_winner(org, campaign)
        Campaign.objects.filter(pk=campaign.pk).update(
            test_ends_at=timezone.now() - dt.timedelta(minutes=1))
        rest = sending.send_campaign(org, campaign)
        campaign.refresh_from_db()
    after = api.get(f"/api/v1/campaigns/{campaign.pk}/report").json()

    assert too_early == ""
    assert (rest, campaign.status, campaign.winner) == (12, "sent", "b")
    assert subjects(smtp_inbox) == {"A": 4, "B": 16}
    assert sorted(Counter(rcpt[0] for rcpt, _message in smtp_inbox.messages).values()) == [1] * 20
    assert after["subject_test"]["winner"] == "b"
    assert after["subject_test"]["b"]["open_rate"] == 0.5
    assert after["subject_test"]["held"] == 0
    with in_org(org):
        variants = Counter(CampaignRecipient.objects.values_list("variant", flat=True))
    assert variants == {"a": 4, "b": 4, "": 12}


def test_a_tie_goes_to_the_templates_subject_and_a_full_test_holds_nobody(
        org, admin, twenty, in_org, smtp_inbox):
    segment, template = twenty
    with in_org(org):
        campaign = campaigns.create_campaign(org, admin.user, data={
            "name": "Spring", "template": template.pk, "segment": segment.pk,
            "from_email": "news@northwind.example", "subject_b": B, "test_percent": 100})
        campaign = campaigns.start_campaign(org, admin.user, campaign)
        sent = sending.send_campaign(org, campaign)
        campaign.refresh_from_db()
        Campaign.objects.filter(pk=campaign.pk).update(
            test_ends_at=timezone.now() - dt.timedelta(minutes=1))
        winner = subject_test.choose_winner(org, campaign)

    assert (sent, campaign.status) == (20, "sent")
    assert subjects(smtp_inbox) == {"A": 10, "B": 10}
    assert winner == "a"


@pytest.mark.parametrize(("extra", "field"), [
    ({"test_percent": 30}, "subject_b"),
    ({"subject_b": B, "test_percent": 101}, "test_percent"),
    ({"subject_b": B, "test_percent": 30, "test_hours": 0}, "test_hours"),
    ({"subject_b": B, "test_percent": 30, "test_metric": "replies"}, "test_metric"),
    ({"subject_b": "{% load static %}", "test_percent": 30}, "subject_b"),
])
def test_a_subject_test_with_bad_settings_is_refused_naming_the_field(
        org, admin, twenty, api_client_for, extra, field):
    segment, template = twenty

    answer = create(api_client_for(admin), segment, template, **extra)

    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == [field]


def test_the_campaign_page_sets_up_the_test_and_shows_both_halves(
        org, admin, twenty, in_org, client_for, smtp_inbox):
    segment, template = twenty
    client = client_for(admin)

    saved = client.post("/campaigns/new/", {
        "name": "Spring", "template": template.pk, "segment": segment.pk,
        "from_email": "news@northwind.example", "subject_b": B, "test_percent": "50",
        "test_hours": "6", "test_metric": "clicks"})
    with in_org(org):
        campaign = Campaign.objects.get()
        campaigns.start_campaign(org, admin.user, campaign)
        sending.send_campaign(org, campaign)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()

    assert saved.status_code == 302
    assert (campaign.subject_b, campaign.test_percent, campaign.test_hours,
            campaign.test_metric) == (B, 50, 6, "clicks")
    assert "50 % of the recipients, winner after 6 hours by most clicks" in page
    assert "10 recipients are held until the winner is chosen" in page
    assert 'id="subject-test"' in page
    assert "B: {{ contact.first_name }}, your spring offer" in page


def test_with_one_recipient_no_test_is_run_and_the_report_says_so(
        org, admin, in_org, api_client_for, client_for, smtp_inbox):
    with in_org(org):
        contact = customer_services.create_contact(org, admin.user, data={
            "first_name": "Solo", "email": "solo@example.com"})
        customer_services.record_consent(org, admin.user, contact, channel="email",
                                         purpose="marketing", status="granted",
                                         method="web_form")
        segment = Segment.objects.create(organization=org, name="Just one",
                                         conditions={"all": []})
        template = campaigns.create_template(org, admin.user, data={
            "name": "Spring", "subject": A, "html": "<p>Hello</p>"})
    api = api_client_for(admin)
    made = create(api, segment, template, subject_b=B, test_percent=40, test_hours=2).json()

    started = api.post(f"/api/v1/campaigns/{made['id']}/start").json()
    with in_org(org):
        campaign = Campaign.objects.get()
        sent = sending.send_campaign(org, campaign)
        campaign.refresh_from_db()
    report = api.get(f"/api/v1/campaigns/{campaign.pk}/report").json()["subject_test"]
    page = client_for(admin).get(f"/campaigns/{campaign.pk}/").content.decode()

    assert started["test_ends_at"] is None
    assert (sent, campaign.status) == (1, "sent")
    assert subjects(smtp_inbox) == {"A": 1}
    assert (report["skipped"], report["ends_at"], report["held"]) == (True, None, 0)
    assert "No test was run: with fewer than two recipients" in page
    assert "held until the winner is chosen" not in page


def test_a_test_that_ran_is_not_reported_as_skipped(org, admin, twenty, in_org,
                                                    api_client_for):
    segment, template = twenty
    api = api_client_for(admin)
    made = create(api, segment, template, subject_b=B, test_percent=40).json()
    before = api.get(f"/api/v1/campaigns/{made['id']}/report").json()["subject_test"]
    api.post(f"/api/v1/campaigns/{made['id']}/start")
    after = api.get(f"/api/v1/campaigns/{made['id']}/report").json()["subject_test"]

    assert (before["skipped"], after["skipped"]) == (False, False)


def test_cancelling_during_the_test_marks_the_held_recipients_not_sent(
        org, admin, twenty, in_org, api_client_for, client_for, smtp_inbox):
    segment, template = twenty
    api = api_client_for(admin)
    made = create(api, segment, template, subject_b=B, test_percent=40, test_hours=2).json()
    started = api.post(f"/api/v1/campaigns/{made['id']}/start").json()
    with in_org(org):
        campaign = Campaign.objects.get()
        sending.send_campaign(org, campaign)

    cancelled = api.post(f"/api/v1/campaigns/{made['id']}/cancel?version={started['version']}")
    with in_org(org):
        Campaign.objects.filter(pk=campaign.pk).update(
            test_ends_at=timezone.now() - dt.timedelta(minutes=1))
        later = sending.send_campaign(org, campaign)
        winner = subject_test.choose_winner(org, campaign)
    report = api.get(f"/api/v1/campaigns/{made['id']}/report").json()
    page = client_for(admin).get(f"/campaigns/{made['id']}/").content.decode()

    assert cancelled.status_code == 200
    assert later == 0
    assert len(smtp_inbox.messages) == 8
    assert (report["statuses"]["held"], report["statuses"]["pending"]) == (0, 0)
    assert report["statuses"]["cancelled"] == 12
    assert report["subject_test"]["held"] == 0
    assert winner == ""
    assert "Not sent: the campaign was cancelled</dt><dd>12</dd>" in page
