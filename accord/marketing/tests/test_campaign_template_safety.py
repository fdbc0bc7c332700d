"""What a template may show and to whom: previews only of contacts the member may see,
merge values that cannot become links or markup, and the filters the sandbox refuses."""

import re

import pytest

from accord import merge_fields
from accord.customers import services as customer_services
from accord.errors import InvalidInput
from accord.identity.models import Role
from accord.identity.visibility import update_visibility
from accord.marketing import campaign_views, campaigns, sending
from accord.marketing.models import Campaign, EmailTemplate, Segment


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING)


def _contact(org, actor, in_org, first_name, email, owner=None):
    with in_org(org):
        contact = customer_services.create_contact(org, actor.user, data={
            "first_name": first_name, "email": email,
            **({"owner": owner.user_id} if owner else {})})
        customer_services.record_consent(org, actor.user, contact, channel="email",
                                         purpose="marketing", status="granted",
                                         method="web_form")
    return contact


def _template(org, actor, in_org, html, subject="Hello"):
    with in_org(org):
        return campaigns.create_template(org, actor.user, data={
            "name": "Offer", "subject": subject, "html": html})


def test_preview_offers_and_fills_in_only_contacts_the_member_may_see(
        org, admin, member, client_for, api_client_for, in_org):
    theirs = _contact(org, admin, in_org, "Hidden", "hidden@example.com", owner=admin)
    mine = _contact(org, admin, in_org, "Mine", "mine@example.com", owner=member)
    template = _template(org, admin, in_org, "<p>Hi {{ contact.first_name }}</p>")
    update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    client, api = client_for(member), api_client_for(member)

    page = client.get(f"/templates/{template.pk}/")
    hidden_page = client.get(f"/templates/{template.pk}/?contact={theirs.pk}")
    hidden_frame = client.get(f"/templates/{template.pk}/preview.html?contact={theirs.pk}")
    hidden_api = api.get(f"/api/v1/templates/{template.pk}/preview?contact_id={theirs.pk}")
    own_frame = client.get(f"/templates/{template.pk}/preview.html?contact={mine.pk}")
    own_api = api.get(f"/api/v1/templates/{template.pk}/preview?contact_id={mine.pk}")
    admin_api = api_client_for(admin).get(
        f"/api/v1/templates/{template.pk}/preview?contact_id={theirs.pk}")

    unknown_page = client.get(f"/templates/{template.pk}/?contact=999999")
    unknown_frame = client.get(f"/templates/{template.pk}/preview.html?contact=999999")
    not_an_id = client.get(f"/templates/{template.pk}/?contact=abc")

    assert [c.pk for c in page.context["contacts"]] == [mine.pk]
    assert hidden_page.status_code == hidden_frame.status_code == hidden_api.status_code == 404
    assert unknown_page.status_code == unknown_frame.status_code == not_an_id.status_code == 404
    assert b"Hidden" not in hidden_frame.content
    assert "<p>Hi Mine</p>" in own_frame.content.decode()
    assert own_api.status_code == 200
    assert "<p>Hi Mine</p>" in own_api.json()["html"]
    assert "<p>Hi Hidden</p>" in admin_api.json()["html"]


def test_a_merge_value_in_a_link_cannot_make_it_a_script_link(
        org, admin, marketer, client_for, in_org, smtp_inbox):
    sly = _contact(org, admin, in_org, "javascript:alert(1)", "sly@example.com")
    template = _template(org, admin, in_org,
                         '<p><a href="{{ contact.first_name }}">Open</a> '
                         '<a href="https://shop.example/">Shop</a></p>')

    frame = client_for(marketer).get(f"/templates/{template.pk}/preview.html?contact={sly.pk}")
    with in_org(org):
        segment = Segment.objects.create(organization=org, name="All", conditions={"all": []})
        campaign = campaigns.create_campaign(org, marketer.user, data={
            "name": "Offer", "template": template.pk, "segment": segment.pk,
            "from_email": "news@northwind.example"})
        campaigns.start_campaign(org, marketer.user, campaign)
        sending.send_campaign(org, Campaign.objects.get(pk=campaign.pk))
    [(_recipients, message)] = smtp_inbox.messages
    html = message.get_body(("html",)).get_content()

    assert "javascript:" not in frame.content.decode()
    assert "<a>Open</a>" in frame.content.decode()
    assert "javascript:" not in html
    assert "<a>Open</a>" in html
    assert "/t/c/" in html  # the plain link is still tracked


@pytest.mark.parametrize("text", [
    "{{ contact.first_name|safe }}",
    "{{ contact.first_name | safeseq }}",
    "{% with name=contact.first_name|safe %}{{ name }}{% endwith %}",
    "{% firstof contact.first_name|safe 'there' %}",
])
def test_filters_that_mark_a_value_as_html_are_refused(text):
    with pytest.raises(InvalidInput) as refused:
        merge_fields.check(text, "html")

    assert refused.value.errors[0]["field"] == "html"
    assert "|safe" in refused.value.errors[0]["message"]


def test_a_quoted_default_and_firstof_stay_allowed():
    assert merge_fields.render('{{ a|default:"x|safe" }}', {}) == "x|safe"
    assert merge_fields.render("{% firstof a 'there' %}", {}) == "there"


def test_a_template_using_safe_is_not_saved_and_says_why(org, marketer, client_for, in_org):
    client = client_for(marketer)

    page = client.post("/templates/new/", {
        "name": "Raw", "subject": "Hi", "html": "<p>{{ contact.first_name|safe }}</p>"})

    assert page.status_code == 422
    assert "The filter |safe cannot be used here" in page.context["form"].errors["html"][0]
    with in_org(org):
        assert not EmailTemplate.objects.exists()


def test_preview_search_offers_matching_contacts_the_member_may_see(
        org, admin, member, client_for, in_org, monkeypatch):
    monkeypatch.setattr(campaign_views, "PREVIEW_CHOICES", 2)
    for name in ("Abe", "Ada", "Amy"):
        _contact(org, admin, in_org, name, f"{name.lower()}@example.com", owner=member)
    zoe = _contact(org, admin, in_org, "Zoe", "zoe@example.com", owner=member)
    _contact(org, admin, in_org, "Zoey", "zoey@example.com", owner=admin)
    template = _template(org, admin, in_org, "<p>Hi {{ contact.first_name }}</p>")
    update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    client = client_for(member)

    first = client.get(f"/templates/{template.pk}/")
    found = client.get(f"/templates/{template.pk}/", {"q": "zo"})
    typed = client.get(f"/templates/{template.pk}/", {"q": "zo", "contact": ""},
                       HTTP_HX_REQUEST="true")
    chosen = client.get(f"/templates/{template.pk}/", {"q": "ab", "contact": zoe.pk},
                        HTTP_HX_REQUEST="true")
    nobody = client.get(f"/templates/{template.pk}/", {"q": "nobody"}, HTTP_HX_REQUEST="true")

    assert [c.first_name for c in first.context["contacts"]] == ["Abe", "Ada"]
    assert 'name="q"' in first.content.decode()
    assert [c.first_name for c in found.context["contacts"]] == ["Zoe"]
    fragment = typed.content.decode().strip()
    assert fragment.startswith('<select id="preview-contact" name="contact">')
    assert fragment.endswith("</select>")
    assert f'<option value="{zoe.pk}">Zoe &lt;zoe@example.com&gt;</option>' in fragment
    assert "Zoey" not in fragment
    options = re.findall(r'<option value="\d+"( selected)?>(\w+) ', chosen.content.decode())
    assert options == [(" selected", "Zoe"), ("", "Abe")]
    assert "No contact with an e-mail address matches “nobody”." in nobody.content.decode()


def test_a_group_of_merge_values_shows_its_name_in_preview_and_mail(
        org, admin, marketer, api_client_for, in_org, smtp_inbox):
    with in_org(org):
        acme = customer_services.create_company(org, admin.user, data={"name": "Acme"})
        ada = customer_services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "company": acme.pk, "owner": admin.user_id})
        customer_services.record_consent(org, admin.user, ada, channel="email",
                                         purpose="marketing", status="granted",
                                         method="web_form")
    template = _template(org, admin, in_org,
                         "<p>{{ contact }} of {{ company }}, from {{ owner }} at "
                         "{{ organization }}</p>", subject="Hi {{ contact }}")
    expected = f"<p>Ada Lovelace of Acme, from {admin.user.full_name} at Northwind</p>"

    preview = api_client_for(marketer).get(
        f"/api/v1/templates/{template.pk}/preview?contact_id={ada.pk}").json()
    empty = api_client_for(marketer).get(f"/api/v1/templates/{template.pk}/preview").json()
    with in_org(org):
        segment = Segment.objects.create(organization=org, name="All", conditions={"all": []})
        campaign = campaigns.create_campaign(org, marketer.user, data={
            "name": "Hello", "template": template.pk, "segment": segment.pk,
            "from_email": "news@northwind.example"})
        campaigns.start_campaign(org, marketer.user, campaign)
        sending.send_campaign(org, Campaign.objects.get(pk=campaign.pk))
    [(_recipients, message)] = smtp_inbox.messages

    assert preview["subject"] == message["Subject"] == "Hi Ada Lovelace"
    assert expected in preview["html"]
    assert expected in message.get_body(("html",)).get_content()
    assert "Ada Lovelace of Acme" in message.get_body(("plain",)).get_content()
    assert (empty["subject"], empty["html"].split("</p>")[0]) == ("Hi", "<p> of , from  at "
                                                                          "Northwind")
