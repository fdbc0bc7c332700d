"""The lead pages through the test client: list, record, forms, conversion and settings."""

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import leads, scoring
from accord.sales import services as sales
from accord.sales.models import AssignmentRule, CaptureForm, Lead


@pytest.fixture
def seller(member, client_for):
    return client_for(member)


@pytest.fixture
def boss(admin, client_for):
    return client_for(admin)


def make_lead(org, actor, **data):
    with scope(organization=org):
        return leads.create_lead(org, actor, data=data)


def test_the_navigation_offers_leads(org, seller):
    response = seller.get("/")

    assert '<a href="/leads/"' in response.content.decode()


def test_list_searches_filters_and_sorts(org, admin, seller):
    make_lead(org, admin.user, first_name="Ada", last_name="Lovelace", source="event")
    make_lead(org, admin.user, first_name="Alan", last_name="Turing", source="ads")
    qualified = make_lead(org, admin.user, first_name="Grace", last_name="Hopper",
                          source="event")
    with scope(organization=org):
        leads.qualify_lead(org, admin.user, qualified)

    searched = seller.get("/leads/?q=turi").content.decode()
    by_source = seller.get("/leads/?source=event&ordering=name").content.decode()
    by_status = seller.get("/leads/?status=qualified").content.decode()

    assert "Alan Turing" in searched
    assert "Ada Lovelace" not in searched
    assert by_source.index("Grace Hopper") < by_source.index("Ada Lovelace")
    assert "Alan Turing" not in by_source
    assert "Grace Hopper" in by_status
    assert "Ada Lovelace" not in by_status


def test_list_pages_by_cursor(org, admin, seller):
    for number in range(52):
        make_lead(org, admin.user, last_name=f"Person {number:02d}")

    first = seller.get("/leads/?ordering=name").content.decode()
    next_link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = seller.get("/leads/" + next_link.replace("&amp;", "&")).content.decode()

    assert "Person 49" in first
    assert "Person 50" not in first
    assert "Person 50" in second
    assert "Person 51" in second
    assert "Person 49" not in second


def test_a_bad_score_filter_is_shown_not_raised(org, seller):
    response = seller.get("/leads/?score_min=lots")

    assert response.status_code == 422
    assert "Enter a whole number." in response.content.decode()


def test_csv_export_has_the_filtered_rows(org, admin, seller):
    make_lead(org, admin.user, last_name="Lovelace", email="ada@example.com", country="GB")
    make_lead(org, admin.user, last_name="=cmd()", country="FR")

    response = seller.get("/leads/export.csv?ordering=name")

    lines = response.content.decode("utf-8-sig").splitlines()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert lines[0].startswith("id,first_name,last_name,email")
    assert [line.split(",")[2] for line in lines[1:]] == ["'=cmd()", "Lovelace"]


def test_create_form_shows_errors_next_to_the_fields(org, seller):
    response = seller.post("/leads/new/", {"email": "nope", "country": "XX"})

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_email_error">Enter an e-mail address such as name@example.com.' in page
    assert 'id="id_country_error">Use a two-letter ISO code such as DE.' in page


def test_create_form_makes_a_lead_owned_by_the_rules(org, admin, member, seller):
    with scope(organization=org):
        from accord.sales import assignment

        assignment.create_rule(org, admin.user, data={"name": "All to admin",
                                                      "owner": admin.user.pk})

    response = seller.post("/leads/new/", {"first_name": "Rosalind", "last_name": "Franklin",
                                           "website": "dna.example"})

    with scope(organization=org):
        lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert (lead.owner, lead.domain, lead.website) == (admin.user, "dna.example",
                                                      "https://dna.example")
    page = seller.get(response["Location"]).content.decode()
    assert "Assigned to Admin 1 by rule “All to admin”" in page


def test_lead_page_shows_the_score_with_its_reasons(org, admin, seller):
    with scope(organization=org):
        scoring.create_rule(org, admin.user, data={"name": "Big", "field": "company_size",
                                                   "value": "250-999", "points": 25})
        scoring.create_rule(org, admin.user, data={"name": "Visit",
                                                   "event_type": "page.visited", "points": 3})
    lead = make_lead(org, admin.user, last_name="Goodall", company_size="250-999")
    with scope(organization=org):
        leads.record_lead_event(org, admin.user, lead, event_type="page.visited")

    page = seller.get(f"/leads/{lead.pk}/").content.decode()

    assert "Score: 28" in page
    assert "+25 · company size is “250-999” <span class=\"muted small\">(Big)</span>" in page
    assert "+3 · from behaviour events" in page
    assert "Event page.visited" in page


def test_disqualifying_without_a_reason_shows_the_error(org, admin, seller):
    lead = make_lead(org, admin.user, last_name="Vague")

    response = seller.post(f"/leads/{lead.pk}/disqualify/", {"reason": ""})

    assert response.status_code == 422
    assert 'id="id_reason_error">This field is required.' in response.content.decode()


def test_conversion_page_shows_the_matched_company_and_converts(org, admin, seller):
    with scope(organization=org):
        company = customers.create_company(org, admin.user, data={
            "name": "Globex Corporation", "domain": "globex.example"})
    lead = make_lead(org, admin.user, first_name="Hank", last_name="Scorpio",
                     email="hank@globex.example", company_name="Globex")

    page = seller.get(f"/leads/{lead.pk}/convert/").content.decode()
    response = seller.post(f"/leads/{lead.pk}/convert/", {"version": lead.version})

    assert f'The existing company <a href="/companies/{company.pk}/">Globex Corporation</a>' \
        in page
    assert "A new contact" in page
    with scope(organization=org):
        lead.refresh_from_db()
    assert lead.converted_company == company
    assert response["Location"] == f"/contacts/{lead.converted_contact_id}/"
    again = seller.post(f"/leads/{lead.pk}/convert/", {"version": lead.version})
    assert again.status_code == 302
    assert again["Location"] == f"/leads/{lead.pk}/"


def test_lead_of_another_organization_answers_404(org, other_org, make_member, seller):
    stranger = make_member(other_org, Role.ADMIN)
    theirs = make_lead(other_org, stranger.user, last_name="Hidden")

    answers = [seller.get(f"/leads/{theirs.pk}/").status_code,
               seller.get(f"/leads/{theirs.pk}/edit/").status_code,
               seller.get(f"/leads/{theirs.pk}/convert/").status_code,
               seller.post(f"/leads/{theirs.pk}/qualify/").status_code]

    assert answers == [404, 404, 404, 404]


def test_settings_are_for_managers_only(org, seller, boss):
    assert seller.get("/settings/leads/").status_code == 403
    assert boss.get("/settings/leads/").status_code == 200


def test_settings_page_adds_a_round_robin_rule_and_shows_form_errors(org, admin, boss):
    with scope(organization=org):
        from accord.identity.models import Team

        team = Team.objects.create(organization=org, name="Hunters")

    refused = boss.post("/settings/leads/assignment-rules/",
                        {"name": "Odd", "match": "country", "operator": "equals"})
    added = boss.post("/settings/leads/assignment-rules/",
                      {"name": "Hunters", "match": "always", "operator": "equals",
                       "team": team.pk})

    assert refused.status_code == 422
    assert 'id="id_value_error">Say which value the rule looks for.' in \
        refused.content.decode()
    assert added.status_code == 302
    with scope(organization=org):
        assert AssignmentRule.objects.get().team == team


def test_settings_page_makes_a_web_form_with_its_address(org, boss):
    boss.post("/settings/leads/forms/", {"name": "Contact us"})

    with scope(organization=org):
        form = CaptureForm.objects.get()
    page = boss.get("/settings/leads/").content.decode()
    assert f"/forms/{form.token}/lead" in page


def convert_and_hide(org, admin, companies: str) -> Lead:
    """A lead the admin converted into a contact, a company and a deal, with salespeople
    then seeing only their own contacts and deals, and companies as `companies` says."""
    with scope(organization=org):
        pipeline = sales.create_pipeline(org, admin.user, name="New business")
    lead = make_lead(org, admin.user, first_name="Hank", last_name="Scorpio",
                     email="hank@globex.example", company_name="Globex Hidden")
    with scope(organization=org):
        leads.convert_lead(org, admin.user, lead, deal={"name": "Doomsday device",
                                                        "pipeline_id": pipeline.pk})
        lead.refresh_from_db()
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": companies, "deals": "own"}})
    return lead


def test_a_converted_lead_names_records_hidden_from_the_member_by_kind_only(
        org, admin, seller, boss):
    lead = convert_and_hide(org, admin, companies="own")

    page = seller.get(f"/leads/{lead.pk}/")
    admin_page = boss.get(f"/leads/{lead.pk}/").content.decode()

    assert page.status_code == 200
    text = page.content.decode()
    for hidden in ("A contact you cannot see", "A company you cannot see",
                   "A deal you cannot see"):
        assert hidden in text
    for url in (f"/contacts/{lead.converted_contact_id}/",
                f"/companies/{lead.converted_company_id}/",
                f"/deals/{lead.converted_deal_id}/"):
        assert url not in text
        assert url in admin_page
    assert "Doomsday device" not in text
    assert "Doomsday device" in admin_page
    history = text[text.index('id="history-title"'):]
    for record_id in (lead.converted_contact_id, lead.converted_company_id,
                      lead.converted_deal_id):
        assert f": {record_id}" not in history
    admin_history = admin_page[admin_page.index('id="history-title"'):]
    assert f"contact: {lead.converted_contact_id}" in admin_history


def test_the_lead_api_gives_no_id_of_a_record_the_lead_became_that_is_hidden(
        org, admin, member, api_client_for):
    lead = convert_and_hide(org, admin, companies="all")
    converted = ("converted_contact_id", "converted_company_id", "converted_deal_id")

    def ids(api) -> list[tuple]:
        one = api.get(f"/api/v1/leads/{lead.pk}").json()
        listed = next(item for item in api.get("/api/v1/leads").json()["items"]
                      if item["id"] == lead.pk)
        return [tuple(answer[key] for key in converted) for answer in (one, listed)]

    mine = (None, lead.converted_company_id, None)
    everything = (lead.converted_contact_id, lead.converted_company_id,
                  lead.converted_deal_id)
    assert ids(api_client_for(member)) == [mine, mine]
    assert ids(api_client_for(admin)) == [everything, everything]
    assert None not in everything
