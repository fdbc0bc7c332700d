"""E-mail templates and campaigns through the pages and the sender: sandboxed merge fields,
previews, who is left out and why, one-click unsubscribe, open and click tracking."""

import datetime as dt
import re

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accord.core.models import DomainEvent
from accord.customers import services as customer_services
from accord.customers.models import Consent
from accord.identity.models import Role
from accord.marketing import campaigns, reports, sending, tracking
from accord.marketing.models import (
    Campaign,
    CampaignRecipient,
    EmailTemplate,
    Segment,
    SuppressedAddress,
)

EVERYONE = {"all": []}
HTML = ('<h1>Hello {{ contact.first_name|default:"there" }}</h1>'
        '{% if contact.lifecycle_stage == "customer" %}<p>Thanks for being a customer.</p>'
        '{% else %}<p>Have a look around.</p>{% endif %}'
        '<p><a href="https://shop.example/spring?ref=mail&amp;x=1">Spring sale</a></p>'
        '<script>alert(1)</script><p onclick="steal()">Bye</p>')


@pytest.fixture(autouse=True)
def no_send_limit(settings):
    settings.CAMPAIGN_SEND_RATE = 0


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING, email="mia@northwind.example",
                       full_name="Mia Marketer")


def _contact(org, admin, first_name, email="", *, consent="granted", **extra):
    contact = customer_services.create_contact(org, admin.user, data={
        "first_name": first_name, "last_name": "Example", "email": email, **extra})
    if consent:
        customer_services.record_consent(org, admin.user, contact, channel="email",
                                         purpose="marketing", status=consent, method="web_form")
    return contact


@pytest.fixture
def audience(org, admin, in_org):
    """One contact for each way of being left out, and two who are sent to."""
    with in_org(org):
        people = {
            "ada": _contact(org, admin, "Ada", "ada@example.com", lifecycle_stage="customer"),
            "ben": _contact(org, admin, "", "ben@example.com"),
            "nomail": _contact(org, admin, "Nomail"),
            "dnc": _contact(org, admin, "Dnc", "dnc@example.com", do_not_contact=True),
            "silent": _contact(org, admin, "Silent", "silent@example.com", consent=""),
            "gone": _contact(org, admin, "Gone", "gone@example.com", consent="withdrawn"),
            "listed": _contact(org, admin, "Listed", "Listed@Example.com"),
            "bounced": _contact(org, admin, "Bounced", "bounced@example.com"),
        }
        campaigns.suppress_address(org, admin.user, "listed@example.com", note="asked by phone")
        campaigns.suppress_address(org, admin.user, "bounced@example.com", reason="bounced")
        segment = Segment.objects.create(organization=org, name="Everyone", conditions=EVERYONE)
        template = campaigns.create_template(org, admin.user, data={
            "name": "Spring", "subject": "Spring news for {{ contact.first_name }}",
            "html": HTML})
    return people, segment, template


def _campaign(org, admin, segment, template, **extra) -> Campaign:
    return campaigns.create_campaign(org, admin.user, data={
        "name": "Spring campaign", "template": template.pk, "segment": segment.pk,
        "from_name": "Northwind", "from_email": "news@northwind.example", **extra})


def test_template_saved_from_the_page_is_sanitised_and_gets_a_plain_text_part(
        org, marketer, client_for, in_org):
    client = client_for(marketer)

    response = client.post("/templates/new/", {"name": "Welcome", "subject": "Hi",
                                               "html": HTML})

    assert response.status_code == 302
    with in_org(org):
        template = EmailTemplate.objects.get(name="Welcome")
    assert "<script" not in template.html
    assert "onclick" not in template.html
    assert "alert(1)" not in template.html
    assert template.text == (
        'Hello {{ contact.first_name|default:"there" }}\n'
        '{% if contact.lifecycle_stage == "customer" %}Thanks for being a customer.\n'
        "{% else %}Have a look around.\n{% endif %}Spring sale "
        "(https://shop.example/spring?ref=mail&x=1)\nBye\n")


@pytest.mark.parametrize(("html", "message"), [
    ("{% for x in contact %}{{ x }}{% endfor %}",
     "The tag {% for %} cannot be used here; use merge fields, if and with."),
    ("{% load static %}", "The tag {% load %} cannot be used here; use merge fields, if and "
                          "with."),
    ('{% include "base.html" %}', "The tag {% include %} cannot be used here; use merge "
                                  "fields, if and with."),
])
def test_template_with_a_loop_or_a_loader_tag_is_refused_next_to_the_field(
        org, marketer, client_for, in_org, html, message):
    client = client_for(marketer)

    response = client.post("/templates/new/", {"name": "Sneaky", "subject": "Hi",
                                               "html": html})

    assert response.status_code == 422
    assert response.context["form"].errors["html"] == [message]
    with in_org(org):
        assert not EmailTemplate.objects.exists()


def test_template_cannot_reach_settings_or_records_and_missing_values_stay_blank(
        org, admin, in_org):
    with in_org(org):
        template = campaigns.create_template(org, admin.user, data={
            "name": "Probe", "subject": "{{ settings.SECRET_KEY }}{{ contact.first_name }}",
            "html": "<p>[{{ contact.company.name }}][{{ request.user.password }}]"
                    "[{{ contact.objects.all }}][{{ company.name|default:'no company' }}]"
                    "[{{ owner.name }}]</p>"})
        contact = customer_services.create_contact(org, admin.user,
                                                   data={"email": "anon@example.com"})

        subject, html, text = campaigns.preview(org, template, contact, admin)

    assert subject == ""
    assert "<p>[][][][no company][Admin 1]</p>" in html
    assert text.startswith("[][][][no company][Admin 1]\n")


def test_preview_page_frames_the_email_in_a_sandbox_for_the_chosen_contact(
        org, admin, marketer, audience, client_for):
    people, _segment, template = audience
    client = client_for(marketer)

    page = client.get(f"/templates/{template.pk}/?contact={people['ada'].pk}")
    frame = client.get(f"/templates/{template.pk}/preview.html?contact={people['ada'].pk}")

    assert page.status_code == 200
    assert re.search(r'<iframe class="email-preview" sandbox [^>]*src="/templates/'
                     rf'{template.pk}/preview.html\?contact={people["ada"].pk}"',
                     page.content.decode())
    assert page.context["subject"] == "Spring news for Ada"
    assert frame["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert "<h1>Hello Ada</h1><p>Thanks for being a customer.</p>" in frame.content.decode()


def test_test_send_goes_to_the_signed_in_member(org, marketer, audience, client_for,
                                                smtp_inbox):
    people, _segment, template = audience
    client = client_for(marketer)

    response = client.post(f"/templates/{template.pk}/test/",
                           {"contact": people["ben"].pk})

    assert response.status_code == 302
    recipients, subject, body = smtp_inbox.only()
    assert recipients == ["mia@northwind.example"]
    assert subject == "[TEST] Spring news for"
    assert body.replace("\r\n", "\n").startswith("Hello there\nHave a look around.\n")


def test_start_counts_everyone_left_out_by_reason(org, admin, marketer, audience, client_for,
                                                  in_org):
    _people, segment, template = audience
    with in_org(org):
        campaign = _campaign(org, admin, segment, template)
    client = client_for(marketer)

    started = client.post(f"/campaigns/{campaign.pk}/start/", {"version": campaign.version})
    report = client.get(f"/api/v1/campaigns/{campaign.pk}/report").json()

    assert started.status_code == 302
    assert report["recipients"] == 8
    assert report["excluded"] == {"no_email": 1, "do_not_contact": 1, "no_consent": 1,
                                  "unsubscribed": 1, "suppressed": 1, "bounced": 1}
    assert report["statuses"]["pending"] == 2
    with in_org(org):
        campaign.refresh_from_db()
        assert campaign.status == "sending"
        assert DomainEvent.objects.filter(type="campaign.started").count() == 1
        assert set(CampaignRecipient.objects.filter(status="pending")
                   .values_list("address", flat=True)) == {"ada@example.com",
                                                           "ben@example.com"}


def _start_and_send(org, admin, segment, template):
    campaign = _campaign(org, admin, segment, template)
    campaign = campaigns.start_campaign(org, admin.user, campaign)
    sent = sending.send_campaign(org, campaign)
    campaign.refresh_from_db()
    return campaign, sent


def _link(body: str, pattern: str) -> str:
    return re.search(pattern, body).group(0)


def test_each_email_has_unsubscribe_headers_and_a_one_click_post_unsubscribes(
        org, admin, audience, in_org, smtp_inbox):
    people, segment, template = audience
    with in_org(org):
        campaign, sent = _start_and_send(org, admin, segment, template)
    by_address = {message["To"]: message for _rcpt, message in smtp_inbox.messages}
    message = by_address["ben@example.com"]
    url = str(message["List-Unsubscribe"]).strip().strip("<>")
    path = url.removeprefix("http://127.0.0.1:8000")
    browser = Client(enforce_csrf_checks=True)

    confirm = browser.get(path)
    one_click = browser.post(path, {"List-Unsubscribe": "One-Click"})
    again = browser.post(path, {"List-Unsubscribe": "One-Click"})

    assert (sent, campaign.status) == (2, "sent")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Spring news for"
    assert url in message.get_body(("plain",)).get_content()
    assert confirm.status_code == 200
    assert b"Stop marketing e-mail from Northwind" in \
        confirm.content
    assert one_click.status_code == again.status_code == 200
    with in_org(org):
        ben = CampaignRecipient.objects.get(contact=people["ben"])
        assert message["Message-ID"] == ben.message_id
        consents = Consent.objects.filter(contact=people["ben"]).order_by("-id")
        assert [(c.status, c.method) for c in consents] == [
            ("withdrawn", "unsubscribe"), ("granted", "web_form")]
        assert consents[0].evidence == f"Unsubscribe link in campaign “Spring campaign” " \
                                       f"(#{campaign.pk})"
        assert SuppressedAddress.objects.get(address="ben@example.com").reason == \
            "unsubscribed"
        assert people["ben"].activities.filter(event="campaign.unsubscribed").count() == 1
        assert DomainEvent.objects.filter(type="campaign.sent", object_id=campaign.pk).count() \
            == 1


def test_click_redirects_only_to_the_stored_link_and_refuses_tampered_tokens(
        org, admin, audience, in_org, smtp_inbox, client):
    people, segment, template = audience
    with in_org(org):
        campaign, _sent = _start_and_send(org, admin, segment, template)
        ada = CampaignRecipient.objects.get(contact=people["ada"])
    html = next(message for _rcpt, message in smtp_inbox.messages
                if message["To"] == "ada@example.com").get_body(("html",)).get_content()
    click = _link(html, r"/t/c/[^\"]+").replace("&amp;", "&")
    pixel = _link(html, r"/t/o/[^\"]+\.gif")
    token = click.removeprefix("/t/c/")
    value, signature = token.rsplit(":", 1)
    forged_link = signing.Signer(salt="marketing.click").sign(f"{org.pk}.{ada.pk}.7")
    unsubscribe_as_click = tracking.make_token("unsubscribe", org.pk, ada.pk)

    first = client.get(click)
    second = client.get(click + "?next=https://evil.example/")
    tampered = client.get(f"/t/c/{value[:-1]}9:{signature}")
    other_kind = client.get(f"/t/c/{unsubscribe_as_click}")
    no_such_link = client.get(f"/t/c/{forged_link}")
    opened = [client.get(pixel), client.get(pixel)]

    assert (first.status_code, first["Location"]) == (302,
                                                      "https://shop.example/spring?ref=mail&x=1")
    assert second["Location"] == "https://shop.example/spring?ref=mail&x=1"
    assert tampered.status_code == other_kind.status_code == no_such_link.status_code == 404
    assert [r["Content-Type"] for r in opened] == ["image/gif", "image/gif"]
    with in_org(org):
        ada.refresh_from_db()
        assert (ada.click_count, ada.open_count) == (2, 2)
        assert ada.opened_at is not None
        assert ada.clicked_at is not None
        # The click came first and counted as the open, so the timeline
        # shows the click alone.
        assert [(e.event, e.data["campaign"]) for e in people["ada"].activities.filter(
            event__startswith="campaign.")] == [("campaign.clicked", "Spring campaign")]
        result = reports.report(campaign, admin)
    assert (result["opened"], result["clicked"]) == (1, 1)
    assert result["links"] == [{"url": "https://shop.example/spring?ref=mail&x=1",
                                "clicks": 2, "people": 1}]


def test_a_scheduled_campaign_is_started_by_the_beat_when_due(org, admin, audience, in_org):
    _people, segment, template = audience
    later = timezone.now() + dt.timedelta(hours=1)
    with in_org(org):
        campaign = _campaign(org, admin, segment, template, scheduled_at=later)

    early = campaigns.start_due_campaigns(now=timezone.now())
    due = campaigns.start_due_campaigns(now=later + dt.timedelta(seconds=1))

    assert (campaign.status, early, due) == ("scheduled", 0, 1)
    with in_org(org):
        campaign.refresh_from_db()
        assert campaign.status == "sending"


def test_sales_sees_campaigns_but_cannot_start_them(org, admin, member, audience, in_org,
                                                    client_for):
    _people, segment, template = audience
    with in_org(org):
        campaign = _campaign(org, admin, segment, template)
    client = client_for(member)

    listed = client.get("/campaigns/")
    start = client.post(f"/campaigns/{campaign.pk}/start/")

    assert listed.status_code == 200
    assert start.status_code == 403
    with scope(organization=org):
        campaign.refresh_from_db()
        assert campaign.status == "draft"


def test_marketer_adds_and_removes_an_address_on_the_suppression_list(
        org, marketer, client_for, in_org):
    client = client_for(marketer)

    bad = client.post("/campaigns/suppressed/", {"address": "not an address",
                                                 "reason": "manual"})
    added = client.post("/campaigns/suppressed/", {"address": "Pat@Example.com",
                                                   "reason": "complaint", "note": "phoned"})
    listed = client.get("/campaigns/suppressed/?q=pat")
    with in_org(org):
        entry = SuppressedAddress.objects.get()
    removed = client.post(f"/campaigns/suppressed/{entry.pk}/remove/")

    assert bad.status_code == 422
    assert bad.context["form"].errors["address"] == ["Enter a valid email address."]
    assert added.status_code == 302
    assert (entry.address, entry.reason, entry.note) == ("pat@example.com", "complaint",
                                                         "phoned")
    assert [e.address for e in listed.context["entries"]] == ["pat@example.com"]
    assert removed.status_code == 302
    with in_org(org):
        assert not SuppressedAddress.objects.exists()


def test_a_cancelled_campaign_sends_nothing_more(org, admin, marketer, audience, in_org,
                                                 client_for, smtp_inbox):
    _people, segment, template = audience
    with in_org(org):
        campaign = campaigns.start_campaign(org, admin.user,
                                            _campaign(org, admin, segment, template))
    client = client_for(marketer)

    cancelled = client.post(f"/campaigns/{campaign.pk}/cancel/", {"version": campaign.version})
    with in_org(org):
        sent = sending.send_campaign(org, campaigns.get_campaign(campaign.pk))
        campaign.refresh_from_db()

    assert cancelled.status_code == 302
    assert (campaign.status, sent, smtp_inbox.messages) == ("cancelled", 0, [])
