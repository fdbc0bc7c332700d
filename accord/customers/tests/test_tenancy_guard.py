import pytest
from django_scopes.exceptions import ScopeError

from accord.customers import services
from accord.customers.models import Contact


def test_unscoped_contact_query_fails_loudly(db):
    with pytest.raises(ScopeError):
        list(Contact.objects.all())


def test_scoped_query_sees_only_its_organization(org, other_org, admin, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Ada"})
    with in_org(other_org):
        assert list(Contact.objects.values_list("first_name", flat=True)) == []
    with in_org(org):
        assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ada"]
