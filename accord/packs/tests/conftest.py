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
