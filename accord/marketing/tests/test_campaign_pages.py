"""The template and campaign pages a marketer goes through, from an empty list to a report."""

from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.marketing.models import Campaign, EmailTemplate, Segment


def test_marketer_writes_a_template_plans_a_campaign_and_reads_its_report(
        org, admin, make_member, client_for, in_org):
    marketer = make_member(org, Role.MARKETING, email="mia@northwind.example")
    with in_org(org):
        contact = customer_services.create_contact(org, admin.user, data={
            "first_name": "Ada", "email": "ada@example.com"})
        customer_services.record_consent(org, admin.user, contact, channel="email",
                                         purpose="marketing", status="granted",
                                         method="web_form")
        segment = Segment.objects.create(organization=org, name="All", conditions={"all": []})
    client = client_for(marketer)

    empty = client.get("/templates/")
    client.post("/templates/new/", {"name": "Hello", "subject": "Hi {{ contact.first_name }}",
                                    "html": "<p>Hi</p>"})
    with in_org(org):
        template = EmailTemplate.objects.get()
    edit_page = client.get(f"/templates/{template.pk}/edit/")
    edited = client.post(f"/templates/{template.pk}/edit/", {
        "name": "Hello", "subject": "Hello {{ contact.first_name }}", "html": "<p>Hello</p>",
        "text_by_hand": "on", "text": "Hello by hand", "version": template.version})
    new_page = client.get("/campaigns/new/")
    missing = client.post("/campaigns/new/", {"name": "", "template": template.pk,
                                              "segment": segment.pk, "from_email": "x"})
    created = client.post("/campaigns/new/", {
        "name": "Hello all", "template": template.pk, "segment": segment.pk,
        "from_name": "Northwind", "from_email": "news@northwind.example"})
    with in_org(org):
        campaign = Campaign.objects.get()
    draft_page = client.get(f"/campaigns/{campaign.pk}/")
    client.post(f"/campaigns/{campaign.pk}/start/", {"version": campaign.version})
    report_page = client.get(f"/campaigns/{campaign.pk}/")
    listed = client.get("/campaigns/?status=sending")
    delete_page = client.get(f"/templates/{template.pk}/delete/")
    refused = client.post(f"/templates/{template.pk}/delete/", {"version": 2}, follow=True)

    assert b"No e-mail templates yet." in empty.content
    assert edit_page.status_code == new_page.status_code == 200
    assert edited.status_code == 302
    with in_org(org):
        template.refresh_from_db()
    assert (template.subject, template.text, template.text_by_hand) == (
        "Hello {{ contact.first_name }}", "Hello by hand", True)
    assert missing.status_code == 422
    assert missing.context["form"].errors == {
        "name": ["This field is required."], "from_email": ["Enter a valid email address."]}
    assert created.status_code == 302
    assert b"Send now" in draft_page.content
    assert report_page.context["report"]["statuses"]["pending"] == 1
    assert b"Contacts in the segment" in report_page.content
    assert [c.name for c in listed.context["campaigns"]] == ["Hello all"]
    assert delete_page.status_code == 200
    assert b"A campaign uses this template; delete the campaign first." in refused.content
