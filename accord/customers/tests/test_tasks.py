"""The hourly purge of records that have sat in the trash past retention."""

import datetime as dt

from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.customers import services
from accord.customers.models import Company, Contact
from accord.customers.tasks import purge_expired_trash
from accord.identity.models import Membership


def trash(org, in_org, *, days_ago: int, model=Contact, **data):
    actor = Membership.unscoped.filter(organization=org).first().user
    with in_org(org):
        if model is Contact:
            record = services.create_contact(org, actor, data=data)
        else:
            record = services.create_company(org, actor, data=data)
        model.unscoped.filter(pk=record.pk).update(
            deleted_at=timezone.now() - dt.timedelta(days=days_ago))
    return record


def test_purge_deletes_expired_trash_in_every_organisation(org, other_org, in_org):
    old_contact = trash(org, in_org, days_ago=31, first_name="Old")
    recent = trash(org, in_org, days_ago=29, first_name="Recent")
    old_company = trash(other_org, in_org, days_ago=40, model=Company, name="Old Co")

    purged = purge_expired_trash()

    assert purged == 2
    assert not Contact.unscoped.filter(pk=old_contact.pk).exists()
    assert Contact.unscoped.filter(pk=recent.pk).exists()
    assert not Company.unscoped.filter(pk=old_company.pk).exists()
    purges = AuditEntry.unscoped.filter(action="purge")
    assert sorted(purges.values_list("organization_id", "object_id", "via")) == sorted([
        (org.pk, old_contact.pk, "job"), (other_org.pk, old_company.pk, "job")])


def test_purge_twice_changes_nothing_the_second_time(org, in_org):
    trash(org, in_org, days_ago=31, first_name="Old")

    first = purge_expired_trash()
    second = purge_expired_trash()

    assert (first, second) == (1, 0)
    assert AuditEntry.unscoped.filter(action="purge").count() == 1


def test_purge_leaves_live_records_alone(org, admin, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Alive"})

    assert purge_expired_trash() == 0
    assert Contact.unscoped.count() == 1
