"""`accord loaddemo`: the demo organisation, what it holds and how it was written."""

import collections
import datetime as dt
import io
import stat

import phonenumbers
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_scopes import scopes_disabled

from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.core.demo import demo_password
from accord.core.demo.plan import make_plan
from accord.customers.models import (
    Company,
    Consent,
    Contact,
    ContactPhone,
    ContactTag,
    CustomField,
)
from accord.identity.models import Membership, Organization, Team
from accord.sales.models import Deal
from accord.service.models import Queue, Ticket

# Every test here shares one database group, so the demo is loaded only once.
pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "demo-password-for-tests"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo, loaded once for this module and removed afterwards."""
    var_dir = tmp_path_factory.mktemp("var")
    with override_settings(DEMO_PASSWORD=DEMO_PASSWORD, VAR_DIR=var_dir), \
            django_db_blocker.unblock():
        output = io.StringIO()
        call_command("loaddemo", "--once", stdout=output)
        org = Organization.objects.get(slug="demo")
        yield org, output.getvalue()
        users = list(Membership.unscoped.filter(organization=org).values_list("user", flat=True))
        # Deals protect their stages, so they go before the organisation.
        Deal.unscoped.filter(organization=org).delete()
        org.delete()
        get_user_model().objects.filter(pk__in=users).delete()


def table_counts(org) -> dict[str, int]:
    with scopes_disabled():
        return {
            model.__name__: model.unscoped.filter(organization=org).count()
            for model in (Company, Contact, ContactPhone, ContactTag, Consent, CustomField,
                          Activity, Membership, Team, AuditEntry)
        }


def test_loaddemo_prints_the_admin_sign_in(demo):
    org, output = demo

    assert output.endswith("Demo sign-in: demo@example.com / demo-password-for-tests\n")
    assert org.name == "Demo"


def test_demo_admin_signs_in_with_the_demo_password(demo):
    user = authenticate(email="demo@example.com", password=DEMO_PASSWORD)

    assert user is not None
    assert Membership.unscoped.get(organization=demo[0], user=user).role == "admin"


def test_demo_has_people_in_regional_teams_with_every_role(demo, in_org):
    org, _ = demo

    roles = collections.Counter(
        Membership.unscoped.filter(organization=org).values_list("role", flat=True)
    )
    teams = {}
    with in_org(org):
        for team in Team.objects.select_related("lead"):
            lead_role = Membership.objects.get(user=team.lead).role
            teams[team.name] = (lead_role, team.memberships.count())

    regional = {name: team for name, team in teams.items() if " – " not in name}
    sales_teams = sorted(team for name, team in teams.items() if " – " in name)
    # The sales data set brings 6 managers, each leading a team of their own,
    # and 35 agents.
    assert roles == {"admin": 2, "manager": 12, "sales": 59, "marketing": 3, "support": 3,
                     "read_only": 2}
    assert regional == {"Central": ("manager", 10), "East": ("manager", 10),
                        "West": ("manager", 10), "Marketing": ("marketing", 3),
                        "Support": ("support", 3)}
    assert sales_teams == [("manager", 6)] + [("manager", 7)] * 5


def test_demo_has_the_promised_companies_contacts_and_timeline(demo):
    org, _ = demo

    with scopes_disabled():
        companies = Company.unscoped.filter(organization=org)
        # The support tickets' customers are contacts of their own, checked
        # with the tickets.
        contacts = Contact.unscoped.filter(organization=org).exclude(source="Support tickets")
        kinds = collections.Counter(
            Activity.unscoped.filter(organization=org).exclude(kind="system")
            .values_list("kind", flat=True)
        )
        fields = sorted(CustomField.unscoped.filter(organization=org)
                        .values_list("entity", "key", "field_type"))

        # 90 companies of the demo and 85 accounts of the sales data set.
        assert companies.count() == 175
        assert companies.filter(parent__isnull=False).count() == 35
        assert companies.exclude(industry="").count() == 175
        assert companies.filter(annual_revenue__isnull=True).count() == 0
        assert companies.filter(employees__isnull=True).count() == 0
        assert contacts.count() == 527
        assert contacts.filter(company__isnull=True).count() == 0
        assert contacts.filter(owner__isnull=True).count() == 0
        assert contacts.exclude(email__endswith=".example").count() == 0
        assert ContactTag.unscoped.filter(organization=org).count() == 516
        assert Consent.unscoped.filter(organization=org).count() == 550
        assert len(set(contacts.values_list("lifecycle_stage", flat=True))) == 8
        assert kinds == {"call": 142, "note": 78, "email": 72, "meeting": 53, "task": 81}
        assert fields == [
            ("company", "account_tier", "choice"),
            ("company", "hardware_budget", "money"),
            ("company", "year_established", "number"),
            ("contact", "last_order_value", "money"),
            ("contact", "product_interest", "multi_choice"),
        ]
        assert contacts.filter(custom_fields__has_key="last_order_value").count() == 216


def test_demo_phones_are_valid_e164_numbers_of_the_contacts_country(demo):
    org, _ = demo

    with scopes_disabled():
        phones = list(ContactPhone.unscoped.filter(organization=org)
                      .values_list("number", "contact__country"))
    wrong = [
        (number, country) for number, country in phones
        if not phonenumbers.is_valid_number(phonenumbers.parse(number))
        or phonenumbers.region_code_for_number(phonenumbers.parse(number)) != country
    ]

    assert len(phones) == 717
    assert wrong == []


def test_demo_tasks_are_open_overdue_and_done_across_users(demo):
    org, _ = demo
    load_time = Organization.objects.get(pk=org.pk).created_at

    with scopes_disabled():
        tasks = Activity.unscoped.filter(organization=org, kind="task")
        done = tasks.filter(completed_at__isnull=False).count()
        overdue = tasks.filter(completed_at__isnull=True, due_at__lt=load_time).count()
        open_ = tasks.filter(completed_at__isnull=True, due_at__gt=load_time).count()
        assignees = tasks.values("assignee").distinct().count()

    assert (done, overdue, open_) == (23, 17, 41)
    assert assignees == 28


def test_demo_was_written_through_the_services_on_the_cli_channel(demo):
    org, _ = demo

    with scopes_disabled():
        entries = AuditEntry.unscoped.filter(organization=org)
        channels = set(entries.values_list("via", flat=True))
        created = collections.Counter(
            entries.filter(action="create").values_list("entity", flat=True)
        )
        events = collections.Counter(
            Activity.unscoped.filter(organization=org, kind="system")
            .values_list("event", flat=True)
        )

    assert channels == {"cli"}
    assert created == {"organization": 1, "team": 11, "custom_field": 5, "company": 175,
                       "contact": 527 + 236, "activity": 426, "product": 7, "pipeline": 1,
                       "deal": 8800, "queue": 1, "order": 47, "exchangerate": 1}
    # One order of the day's 47 is a guest's, on no timeline; 3 are returns.
    assert events == {"company.created": 175, "contact.created": 527 + 236,
                      "contact.stage_changed": 60, "order.placed": 43, "order.returned": 3}


def test_demo_has_a_support_queue_with_the_generated_tickets(demo):
    org, _ = demo

    with scopes_disabled():
        queue = Queue.unscoped.get(organization=org)
        tickets = Ticket.unscoped.filter(organization=org)
        statuses = collections.Counter(tickets.values_list("status", flat=True))
        customers = Contact.unscoped.filter(organization=org, source="Support tickets")

        assert queue.email_address == "support@demo.example.com"
        assert queue.is_default
        assert tickets.count() == 400
        assert statuses == {"closed": 115, "open": 140, "pending": 145}
        assert tickets.filter(queue=queue).count() == 400
        assert customers.count() == 236


def test_second_run_with_once_changes_nothing(demo):
    org, _ = demo
    before = table_counts(org)
    output = io.StringIO()

    call_command("loaddemo", "--once", stdout=output)

    assert table_counts(org) == before
    assert output.getvalue() == "Demo sign-in: demo@example.com / demo-password-for-tests\n"
    assert Organization.objects.filter(slug__startswith="demo").count() == 1


def test_loaddemo_without_once_refuses_to_build_a_second_demo(demo):
    with pytest.raises(CommandError) as error:
        call_command("loaddemo", stdout=io.StringIO())

    assert str(error.value) == (
        "The demo organisation exists already. Use --once to keep it, or start from an "
        "empty database to build it again."
    )


def test_demo_password_is_generated_once_and_readable_by_its_owner_only(settings, tmp_path):
    settings.DEMO_PASSWORD = ""
    settings.VAR_DIR = tmp_path

    first = demo_password(create=True)
    second = demo_password(create=True)

    assert first == second
    assert len(first) == 16
    assert (tmp_path / "demo_password").read_text() == first + "\n"
    assert stat.S_IMODE((tmp_path / "demo_password").stat().st_mode) == 0o600


def test_demo_password_comes_from_the_environment_when_set(settings, tmp_path):
    settings.DEMO_PASSWORD = "from-the-environment"
    settings.VAR_DIR = tmp_path

    assert demo_password(create=True) == "from-the-environment"
    assert not (tmp_path / "demo_password").exists()


def test_no_demo_password_without_a_file_unless_asked_to_create_one(settings, tmp_path):
    settings.DEMO_PASSWORD = ""
    settings.VAR_DIR = tmp_path

    assert demo_password() is None


def test_plan_is_the_same_for_the_same_seed_and_moment():
    now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)

    assert make_plan(now=now) == make_plan(now=now)
    assert make_plan(now=now) != make_plan(seed=1, now=now)


def test_no_two_demo_records_share_a_phone_number():
    # A shared number makes two records possible duplicates; the demo's
    # review queue should hold only what the demo means to show.
    plan = make_plan(now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    numbers = ([phone["number"] for contact in plan.contacts
                for phone in contact.data.get("phones", [])]
               + [company.data["phone"] for company in plan.companies])

    assert len(numbers) == len(set(numbers))
