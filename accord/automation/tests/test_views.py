"""The rule pages, used the way an admin does: list, builder, dry run, run log, starters."""

import pytest

from accord.automation.models import Rule
from accord.automation.tasks import start_run
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.identity.models import Role


def builder_post(**fields) -> dict:
    """A rule form post with an empty condition group and the given fields."""
    return {"n:type": "group", "n:match": "all", "name": "Welcome", "trigger": "created",
            "entity": "contact", **fields}


def test_an_admin_builds_a_rule_row_by_row_and_saves_it(org, admin, in_org, client_for):
    client = client_for(admin)
    with in_org(org):
        customers.create_contact(org, admin.user, data={"first_name": "Vic", "tags": ["vip"]})

    page = client.get("/settings/rules/new/")
    chosen = client.post("/settings/rules/new/", builder_post(**{
        "a0:type": "add_tag", "action": "update"}))
    added = client.post("/settings/rules/new/", builder_post(**{
        "a0:type": "add_tag", "a0:tag": "new", "action": "add_action"}))
    saved = client.post("/settings/rules/new/", builder_post(**{
        "is_active": "on",
        "n_0:type": "condition", "n_0:subject": "kind:tag", "n_0:op": "has",
        "n_0:value": "vip",
        "a0:type": "add_tag", "a0:tag": "new",
        "a1:type": "create_task", "a1:subject": "Call {{ contact.first_name }}", "a1:days": "2",
        "action": "save"}))

    assert page.status_code == 200
    assert 'name="a0:tag"' in chosen.content.decode()
    assert 'name="a1:type"' in added.content.decode()
    with in_org(org):
        rule = Rule.objects.get()
    assert saved.status_code == 302
    assert saved["Location"] == f"/settings/rules/{rule.pk}/"
    assert (rule.name, rule.trigger, rule.settings, rule.is_active) == (
        "Welcome", "created", {"entity": "contact"}, True)
    assert rule.conditions == {"all": [{"kind": "tag", "op": "has", "value": "vip"}]}
    assert rule.actions == [{"type": "add_tag", "tag": "new"},
                            {"type": "create_task", "subject": "Call {{ contact.first_name }}",
                             "days": 2}]
    assert rule.created_by_id == admin.user_id


def test_errors_show_next_to_the_action_setting_and_nothing_is_saved(org, admin, in_org,
                                                                     client_for):
    response = client_for(admin).post("/settings/rules/new/", builder_post(**{
        "a0:type": "create_task", "a0:subject": "", "a0:days": "soon", "action": "save"}))

    assert response.status_code == 422
    html = response.content.decode()
    assert '<p class="error">Fill this in.</p>' in html
    assert '<p class="error">Enter a whole number.</p>' in html
    with in_org(org):
        assert not Rule.objects.exists()


def test_the_dry_run_page_shows_the_outcome_for_a_record(org, admin, in_org, client_for,
                                                         make_rule):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "send_email", "subject": "Hi", "body": "Hello"}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    response = client_for(admin).get(f"/settings/rules/{rule.pk}/dry-run/?record={contact.pk}")
    missing = client_for(admin).get(f"/settings/rules/{rule.pk}/dry-run/?record=999999")

    html = response.content.decode()
    assert "Would run" in html
    assert "The contact has no e-mail address." in html
    assert missing.status_code == 404
    assert "No contact with this id." in missing.content.decode()


def test_switching_a_rule_off_and_on_from_its_page(org, admin, in_org, client_for, make_rule):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "add_tag", "tag": "new"}])
    client = client_for(admin)

    off = client.post(f"/settings/rules/{rule.pk}/active/", {"active": "0"})
    with in_org(org):
        after_off = Rule.objects.get().is_active
    client.post(f"/settings/rules/{rule.pk}/active/", {"active": "1"})

    assert off.status_code == 302
    with in_org(org):
        assert (after_off, Rule.objects.get().is_active) == (False, True)


def test_every_starter_is_added_as_a_valid_rule_that_waits_to_be_switched_on(
        org, admin, in_org, client_for):
    client = client_for(admin)
    keys = ["renewal_reminder", "viewing_follow_up", "annual_review", "re_engagement"]

    answers = [client.post(f"/settings/rules/starters/{key}/").status_code for key in keys]
    again = client.post("/settings/rules/starters/annual_review/", follow=True)
    listing = client.get("/settings/rules/").content.decode()

    assert answers == [302] * 4
    with in_org(org):
        rules = {rule.starter: rule for rule in Rule.objects.all()}
        count = Rule.objects.count()
        switched_on = client.post(f"/settings/rules/{rules['annual_review'].pk}/active/",
                                  {"active": "1", "version": rules["annual_review"].version})
        rules["annual_review"].refresh_from_db()
    assert sorted(rules) == sorted(keys)
    assert count == 4
    assert not any(rule.is_active for starter, rule in rules.items() if starter != "annual_review")
    assert rules["annual_review"].is_active
    assert switched_on.status_code == 302
    assert again.status_code == 200
    assert rules["renewal_reminder"].settings == {"date": "subscription.renews_on",
                                                  "days": -30, "time": "08:00"}
    assert "Add “" not in listing
    assert listing.count("Added, off: open the rule") == 4


def test_another_organizations_rule_pages_answer_404(org, admin, other_org, make_member,
                                                     client_for, make_rule):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "add_tag", "tag": "new"}])
    client = client_for(make_member(other_org, Role.ADMIN, email="outsider@example.com"))

    answers = [client.get(f"/settings/rules/{rule.pk}/").status_code,
               client.get(f"/settings/rules/{rule.pk}/edit/").status_code,
               client.get(f"/settings/rules/{rule.pk}/dry-run/").status_code,
               client.post(f"/settings/rules/{rule.pk}/active/", {"active": "0"}).status_code,
               client.post(f"/settings/rules/{rule.pk}/delete/").status_code]

    assert answers == [404] * 5


@pytest.mark.parametrize(("role", "status"), [(Role.MANAGER, 200), (Role.SALES, 403),
                                              (Role.READ_ONLY, 403)])
def test_rule_pages_are_for_admins_and_managers(org, make_member, client_for, role, status):
    response = client_for(make_member(org, role, email=f"{role}@example.com")).get(
        "/settings/rules/")

    assert response.status_code == status


def test_the_rules_page_shows_its_run_log_a_page_at_a_time(org, admin, in_org, client_for,
                                                          make_rule, monkeypatch):
    monkeypatch.setattr("accord.automation.views.PAGE_SIZE", 2)
    rule = make_rule(org, name="Welcome", trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "add_tag", "tag": "new"}])
    for name in ("Ada", "Bob", "Cy"):
        with in_org(org):
            contact = customers.create_contact(org, admin.user, data={"first_name": name})
            event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)
        start_run(rule.pk, event.pk)
    client = client_for(admin)

    first = client.get(f"/settings/rules/{rule.pk}/").content.decode()
    cursor = first.split("cursor=", 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = client.get(f"/settings/rules/{rule.pk}/?cursor={cursor}").content.decode()

    assert first.count("Added the tag “new” to the contact.") == 2
    assert f"contact {contact.pk}" in first
    assert second.count("Added the tag “new” to the contact.") == 1


def test_editing_a_rule_keeps_its_rows_and_refuses_a_stale_copy(org, admin, in_org,
                                                                client_for, make_rule):
    rule = make_rule(org, name="Welcome", trigger="created", settings={"entity": "deal"},
                     actions=[{"type": "create_task", "subject": "Qualify", "days": 3}])
    client = client_for(admin)
    form = client.get(f"/settings/rules/{rule.pk}/edit/").content.decode()
    post = builder_post(**{"version": "1", "entity": "deal", "name": "Qualify deals",
                           "a0:type": "create_task", "a0:subject": "Qualify",
                           "a0:days": "3", "action": "save"})

    saved = client.post(f"/settings/rules/{rule.pk}/edit/", post)
    stale = client.post(f"/settings/rules/{rule.pk}/edit/", {**post, "name": "Old copy"})

    assert 'value="Qualify"' in form
    assert '<option value="deal" selected>' in form
    assert (saved.status_code, stale.status_code) == (302, 409)
    with in_org(org):
        fresh = Rule.objects.get()
    assert (fresh.name, fresh.version, fresh.is_active) == ("Qualify deals", 2, False)


def test_a_date_rule_on_an_unknown_custom_field_is_refused_on_the_form(org, admin, in_org,
                                                                       client_for):
    response = client_for(admin).post("/settings/rules/new/", builder_post(**{
        "trigger": "date_reached", "date": "contact.custom.no_such_field", "days": "0",
        "time": "09:00", "a0:type": "add_tag", "a0:tag": "due", "action": "save"}))

    assert response.status_code == 422
    assert ("Choose a date: subscription.renews_on, deal.expected_close_date, "
            "contact.custom.&lt;key&gt; for a contact custom field of type date, or "
            "record:&lt;type key&gt;.&lt;field key&gt; for a date field of an active record "
            "type.") in (
        response.content.decode())
    with in_org(org):
        assert not Rule.objects.exists()
