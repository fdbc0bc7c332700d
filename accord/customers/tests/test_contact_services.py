import datetime as dt

import pytest
from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.customers import services
from accord.customers.models import Company, Contact, ContactPhone, LifecycleChange
from accord.errors import InvalidInput, StaleVersion


@pytest.fixture
def acme(org, admin, in_org):
    with in_org(org):
        return services.create_company(org, admin.user, data={"name": "Acme", "country": "GB"})


def test_contact_keeps_every_typed_email_and_phone(org, admin, acme, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={
            "first_name": "Femke", "last_name": "de Vries", "country": "NL",
            "company": acme.pk,
            "emails": [{"address": "femke@home.example", "kind": "home"},
                       {"address": "f.devries@work.example", "kind": "work",
                        "is_primary": True}],
            "phones": [{"number": "06 12345678", "kind": "mobile"},
                       {"number": "+31 20 123 4567", "kind": "work", "label": "desk"}],
        })
        emails = [(e.address, e.kind, e.is_primary) for e in contact.emails.all()]
        phones = [(p.raw, p.number, p.kind, p.label) for p in contact.phones.all()]

    assert contact.email == "f.devries@work.example"
    assert contact.phone == "+31612345678"
    assert emails == [("f.devries@work.example", "work", True),
                      ("femke@home.example", "home", False)]
    assert phones == [("06 12345678", "+31612345678", "mobile", ""),
                      ("+31 20 123 4567", "+31201234567", "work", "desk")]


def test_invalid_values_are_all_named_and_nothing_is_saved(org, admin, in_org):
    with in_org(org), pytest.raises(InvalidInput) as caught:
        services.create_contact(org, admin.user, data={
            "first_name": "Bad", "email": "not-an-email", "lifecycle_stage": "vip",
            "birthday": "31.12.1990", "phones": [{"number": "+44 12"}], "company": 999999,
        })

    assert caught.value.as_dict() == {
        "lifecycle_stage": "Choose one of: subscriber, lead, mql, sql, opportunity, customer, "
                           "evangelist, other.",
        "company_id": "Choose an existing company.",
        "birthday": "Enter a date as YYYY-MM-DD.",
        "email": "Enter a valid e-mail address, such as name@example.com.",
        "phones.0.number": "This phone number has the wrong number of digits.",
    }
    with in_org(org):
        assert Contact.objects.count() == 0
        assert ContactPhone.objects.count() == 0


def test_company_of_another_organization_cannot_be_linked(org, other_org, admin, in_org):
    with in_org(other_org):
        foreign = Company.objects.create(organization=other_org, name="Elsewhere")

    with in_org(org), pytest.raises(InvalidInput) as caught:
        services.create_contact(org, admin.user, data={"first_name": "A", "company": foreign.pk})

    assert caught.value.as_dict() == {"company_id": "Choose an existing company."}


def test_second_save_from_a_stale_version_is_refused(org, admin, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={"first_name": "Ada"})
        services.update_contact(org, admin.user, contact, data={"title": "CEO"},
                                expected_version=1)

        with pytest.raises(StaleVersion):
            services.update_contact(org, admin.user, contact, data={"title": "CTO"},
                                    expected_version=1)

        assert Contact.objects.get().title == "CEO"
        assert Contact.objects.get().version == 2


def test_every_change_is_audited_with_old_and_new_values(org, admin, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={"first_name": "Ada",
                                                                 "tags": ["vip"]})
        services.update_contact(org, admin.user, contact, data={
            "first_name": "Adah", "lifecycle_stage": "customer", "tags": ["vip", "newsletter"],
            "phones": [{"number": "+44 20 7946 0958", "kind": "work"}],
        })
        entries = list(AuditEntry.objects.filter(entity="contact").order_by("id"))

    assert [entry.action for entry in entries] == ["create", "update"]
    assert entries[0].changes["first_name"] == [None, "Ada"]
    assert entries[1].changes == {
        "first_name": ["Ada", "Adah"],
        "lifecycle_stage": ["lead", "customer"],
        "phone": ["", "+442079460958"],
        "tags": [["vip"], ["newsletter", "vip"]],
        "phones": [[], ["+44 20 7946 0958 (work)"]],
    }
    assert entries[1].actor_id == admin.user.pk
    assert entries[1].via == "system"


def test_lifecycle_stage_changes_are_kept_as_history(org, admin, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={"first_name": "Ada",
                                                                 "lifecycle_stage": "lead"})
        services.update_contact(org, admin.user, contact, data={"lifecycle_stage": "sql"})
        services.update_contact(org, admin.user, contact, data={"lifecycle_stage": "customer"})
        history = [(c.from_stage, c.to_stage) for c in
                   LifecycleChange.objects.order_by("id")]
        events = list(contact.activities.filter(kind="system").order_by("id")
                      .values_list("event", flat=True))

    assert history == [("", "lead"), ("lead", "sql"), ("sql", "customer")]
    assert events == ["contact.created", "contact.stage_changed", "contact.stage_changed"]


def test_trashed_contact_is_hidden_restorable_and_purged_after_30_days(org, admin, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={"first_name": "Ada"})
        services.delete_contact(org, admin.user, contact)
        assert Contact.objects.count() == 0

        services.restore_contact(org, admin.user, Contact.with_deleted.get())
        assert Contact.objects.count() == 1

        services.delete_contact(org, admin.user, contact)
        assert services.purge_expired_trash(org, now=timezone.now() + dt.timedelta(days=29)) == 0
        assert services.purge_expired_trash(org, now=timezone.now() + dt.timedelta(days=31)) == 1
        assert Contact.with_deleted.count() == 0
        actions = list(AuditEntry.objects.filter(entity="contact").order_by("id")
                       .values_list("action", flat=True))

    assert actions == ["create", "delete", "restore", "delete", "purge"]


def test_current_consent_is_the_latest_per_channel_and_purpose(org, admin, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={"first_name": "Ada"})
        earlier = timezone.now() - dt.timedelta(days=3)
        services.record_consent(org, admin.user, contact, channel="email", purpose="marketing",
                                status="granted", method="web_form", recorded_at=earlier)
        services.record_consent(org, admin.user, contact, channel="email", purpose="marketing",
                                status="withdrawn", method="unsubscribe")
        services.record_consent(org, admin.user, contact, channel="sms", purpose="newsletter",
                                status="granted", method="verbal", evidence="call 12 May")

        current = [(c.channel, c.purpose, c.status) for c in services.current_consents(contact)]

    assert current == [("email", "marketing", "withdrawn"), ("sms", "newsletter", "granted")]


@pytest.mark.parametrize(("data", "errors"), [
    ({"phone": "abc123"}, {"phone": "Enter a phone number, such as +44 20 7946 0958."}),
    ({"country": "XX"}, {"country": "Use the two-letter country code, such as GB or DE."}),
    ({"birthday": "2999-01-01"}, {"birthday": "A birthday cannot be in the future."}),
    ({"last_name": "A\x00B"}, {"last_name": "Remove the NUL character; it cannot be stored."}),
])
def test_contact_values_that_cannot_be_right_are_refused(org, admin, in_org, data, errors):
    with in_org(org), pytest.raises(InvalidInput) as caught:
        services.create_contact(org, admin.user, data={"first_name": "Ada", **data})

    assert caught.value.as_dict() == errors


@pytest.mark.parametrize(("zone", "days", "refused"), [
    ("Pacific/Kiritimati", 0, False),  # its date is a day ahead of UTC's at times
    ("Pacific/Kiritimati", 1, True),
    ("Etc/GMT+12", 0, False),  # a day behind
    ("Etc/GMT+12", 1, True),
])
def test_a_birthday_after_today_in_the_current_time_zone_is_refused(org, admin, in_org, zone,
                                                                    days, refused):
    with timezone.override(zone):
        day = timezone.localdate() + dt.timedelta(days=days)
        with in_org(org):
            try:
                services.create_contact(org, admin.user, data={"first_name": "Ada",
                                                                "birthday": day.isoformat()})
                errors = {}
            except InvalidInput as exc:
                errors = exc.as_dict()

    assert errors == ({"birthday": "A birthday cannot be in the future."} if refused else {})


def test_a_company_cannot_become_its_own_grandparent(org, admin, in_org):
    with in_org(org):
        top = services.create_company(org, admin.user, data={"name": "Top"})
        middle = services.create_company(org, admin.user, data={"name": "Middle",
                                                                "parent": top.pk})

        with pytest.raises(InvalidInput) as caught:
            services.update_company(org, admin.user, top, data={"parent": middle.pk})

    assert caught.value.as_dict() == {
        "parent_id": "A company cannot be its own parent or its subsidiary's subsidiary."}


def test_company_revenue_in_an_unknown_currency_is_refused(org, admin, in_org):
    with in_org(org), pytest.raises(InvalidInput) as caught:
        services.create_company(org, admin.user, data={
            "name": "Acme", "annual_revenue": "1000", "currency": "ZZZ"})

    assert caught.value.as_dict() == {
        "currency": "Use a three-letter currency code, such as EUR."}
