"""Fixtures shared by the pack tests."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from accord.identity.models import Membership, Organization
from accord.sales.models import Deal


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo organisation, loaded once for this module and removed afterwards."""
    with override_settings(DEMO_PASSWORD="demo-password-for-tests",
                           VAR_DIR=tmp_path_factory.mktemp("var")), \
            django_db_blocker.unblock():
        call_command("loaddemo", "--once", stdout=io.StringIO())
        org = Organization.objects.get(slug="demo")
        yield org
        users = list(Membership.unscoped.filter(organization=org).values_list("user", flat=True))
        Deal.unscoped.filter(organization=org).delete()
        org.delete()
        get_user_model().objects.filter(pk__in=users).delete()


@pytest.fixture
def eager():
    """Celery tasks, such as a workflow rule's run, run inside the request that queues them."""
    from accord.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture
def on_demo(demo, client_for):
    """`on_demo(pack, dashboard, *paths)` applies the pack to the demo organisation, reads
    its dashboard (the admin's, by name) and the pages at `paths` as the demo admin, then
    removes the pack; it answers the pages' texts, dashboard first, after checking that
    removal left the demo's own contacts, companies and deals as they were and nothing of
    the pack behind."""
    from django_scopes import scope

    from accord.customers.models import Company, Contact
    from accord.identity.models import Role
    from accord.packs.models import InstalledObject
    from accord.privacy.models import RetentionRule
    from accord.records.models import RecordType
    from accord.reports.models import Dashboard

    def walk(pack: str, dashboard: str, *paths: str) -> list[str]:
        def counts():
            return (Contact.objects.count(), Company.objects.count(), Deal.objects.count())

        with scope(organization=demo):
            admin = Membership.objects.filter(role=Role.ADMIN).order_by("pk").first()
            before = counts()
        out = io.StringIO()
        call_command("pack", "apply", pack, "--org", "demo", stdout=out)
        with scope(organization=demo):
            board = Dashboard.objects.get(owner=admin.user, name=dashboard)
        browser = client_for(admin)
        answers = [browser.get(path) for path in (f"/dashboards/{board.pk}/", *paths)]
        call_command("pack", "remove", pack, "--org", "demo", stdout=out)

        assert [answer.status_code for answer in answers] == [200] * len(answers)
        with scope(organization=demo):
            assert counts() == before
            assert not RecordType.objects.exists()
            assert not RetentionRule.objects.exists()
            assert not InstalledObject.objects.exists()
        return [answer.content.decode() for answer in answers]

    return walk
