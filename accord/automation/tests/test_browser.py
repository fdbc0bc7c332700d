"""An admin writes a rule and tries it on a contact, in a real browser."""

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accord.customers import services as customers
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_write_a_rule_switch_it_on_and_dry_run_it(page, org, admin):
    with scope(organization=org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Grace"})
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Workflow rules").click()
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name", exact=True).fill("Tag newcomers")
    page.get_by_label("When", exact=True).select_option("created")
    page.get_by_label("Record", exact=True).select_option("contact")
    page.get_by_label("Action 1").select_option("add_tag")
    page.get_by_role("button", name="Show its settings").click()
    page.get_by_label("Tag", exact=True).fill("newcomer")
    page.get_by_label("Active").check()
    page.get_by_role("button", name="Save rule").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Tag newcomers")
    page.get_by_role("link", name="Dry run").click()
    page.get_by_label("Contact id").fill(str(contact.pk))
    page.get_by_role("button", name="Try it").click()
    expect(page.locator("#dry-run-result")).to_contain_text(
        "Would add the tag “newcomer” to the contact.")


def test_write_a_renewal_rule_for_a_record_type_and_dry_run_it_on_a_chosen_record(page, org,
                                                                                   admin):
    from accord.records import services as records

    with scope(organization=org):
        policies = records.save_type(org, admin.user, {
            "key": "policy", "singular": "Policy", "plural": "Policies",
            "title_field": "number",
            "fields": [{"key": "number", "type": "text"},
                       {"key": "renews_on", "label": "Renews on", "type": "date"}]})
        records.create_record(org, admin.user, policies,
                              data={"values": {"number": "P-1", "renews_on": "2027-03-01"}})
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto("/settings/rules/new/")
    page.get_by_label("Name", exact=True).fill("Policy renewal")
    page.get_by_label("When", exact=True).select_option("date_reached")
    page.get_by_label("Date", exact=True).fill("record:policy.renews_on")
    page.get_by_label("Days from the date").fill("-30")
    page.get_by_label("At (HH:MM)").fill("08:00")
    page.get_by_label("Action 1").select_option("create_task")
    page.get_by_role("button", name="Show its settings").click()
    page.get_by_label("Subject").fill("Renew {{ record.title }}")
    page.get_by_label("Due in days").fill("7")
    page.get_by_role("button", name="Save rule").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Policy renewal")
    expect(page.locator(".facts")).to_contain_text("Policy")
    page.get_by_role("link", name="Dry run").click()
    page.get_by_label("Policy", exact=True).select_option(label="P-1")
    page.get_by_role("button", name="Try it").click()
    expect(page.locator("#dry-run-result")).to_contain_text(
        "Would create the task “Renew P-1”, due in 7 days, for")
