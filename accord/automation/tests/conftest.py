import pytest
from django_scopes import scope

from accord.automation import services


@pytest.fixture
def make_rule(admin):
    """`make_rule(org, **data)` saves a switched-on rule as the organisation's admin."""

    def make(org, **data):
        data.setdefault("name", "Rule")
        data.setdefault("is_active", True)
        with scope(organization=org):
            return services.create_rule(org, admin.user, data=data)

    return make


@pytest.fixture
def eager():
    """Tasks run inside the caller, as a worker would run them, without a broker."""
    from accord.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False
