"""Template previews and test sends fill in placeholders for the signed links a real
e-mail carries, so nobody who may preview can change a contact's consent."""

import pytest

from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.marketing import campaigns
from accord.marketing.preferences import preference_link

HTML = ('<p>Hello {{ contact.first_name }}</p>'
        '<p><a href="{{ contact.preferences_url }}">Your preferences</a></p>')
TEXT = "Hello {{ contact.first_name }}\nYour preferences: {{ contact.preferences_url }}\n"


@pytest.fixture
def setup(org, admin, in_org):
    with in_org(org):
        noor = customer_services.create_contact(org, admin.user, data={
            "first_name": "Noor", "email": "noor@example.net"})
        template = campaigns.create_template(org, admin.user, data={
            "name": "News", "subject": "News", "html": HTML, "text": TEXT,
            "text_by_hand": True})
        return noor, template, preference_link(noor)


def test_preview_for_a_read_only_member_holds_no_working_preference_link(
        org, make_member, setup, api_client_for, client_for):
    noor, template, real_link = setup
    reader = make_member(org, Role.READ_ONLY)

    api = api_client_for(reader).get(
        f"/api/v1/templates/{template.pk}/preview?contact_id={noor.pk}")
    page = client_for(reader).get(f"/templates/{template.pk}/?contact={noor.pk}")
    frame = client_for(reader).get(f"/templates/{template.pk}/preview.html?contact={noor.pk}")

    assert api.status_code == page.status_code == frame.status_code == 200
    preview = api.json()
    assert '<p><a href="#">Your preferences</a></p>' in preview["html"]
    assert '<a href="#">Do not want these e-mails? Unsubscribe</a>' in preview["html"]
    assert preview["text"].startswith("Hello Noor\nYour preferences: #\n")
    assert preview["text"].endswith("Unsubscribe: #\n")
    for body in (preview["html"], preview["text"], page.content.decode(),
                 frame.content.decode()):
        assert real_link not in body


def test_test_send_holds_no_working_preference_link(org, make_member, setup, client_for,
                                                    smtp_inbox):
    noor, template, real_link = setup
    marketer = make_member(org, Role.MARKETING, email="mia@northwind.example")

    response = client_for(marketer).post(f"/templates/{template.pk}/test/",
                                         {"contact": noor.pk})

    assert response.status_code == 302
    _recipients, _subject, body = smtp_inbox.only()
    assert body.replace("\r\n", "\n").startswith("Hello Noor\nYour preferences: #\n")
    assert real_link not in body
