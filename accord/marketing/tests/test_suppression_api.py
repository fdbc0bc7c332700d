"""The suppression list through /api/v1/suppressions."""

from accord.audit.models import AuditEntry
from accord.identity.models import Role
from accord.marketing.models import SuppressedAddress

API = "/api/v1/suppressions"


def add(api, **body):
    return api.post(API, body, content_type="application/json")


def test_an_address_is_added_once_listed_read_and_taken_off(org, admin, api_client_for,
                                                             in_org):
    api = api_client_for(admin)

    first = add(api, address="Ada@Example.com", note="asked by phone")
    again = add(api, address="ada@example.COM")
    add(api, address="bounce@example.com", reason="bounced")
    listed = api.get(API, {"q": "ada"}).json()
    bounced = api.get(API, {"reason": "bounced"}).json()
    read = api.get(f"{API}/{first.json()['id']}")
    removed = api.delete(f"{API}/{first.json()['id']}")
    gone = api.get(f"{API}/{first.json()['id']}")

    assert first.status_code == 201
    assert first.json()["address"] == "ada@example.com"
    assert (first.json()["reason"], first.json()["note"], first.json()["version"]) == (
        "manual", "asked by phone", 1)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert [item["address"] for item in listed["items"]] == ["ada@example.com"]
    assert [item["address"] for item in bounced["items"]] == ["bounce@example.com"]
    assert read.json()["updated_at"] == read.json()["created_at"]
    assert removed.status_code == 204
    assert gone.status_code == 404
    with in_org(org):
        assert list(SuppressedAddress.objects.values_list("address", flat=True)) == [
            "bounce@example.com"]
        actions = list(AuditEntry.objects.filter(entity="suppressedaddress")
                       .order_by("id").values_list("action", flat=True))
    assert actions == ["create", "create", "delete"]


def test_bad_input_is_refused_naming_the_field(org, admin, api_client_for, in_org):
    api = api_client_for(admin)

    bad_address = add(api, address="not an address")
    bad_reason = add(api, address="x@example.com", reason="because")
    bad_filter = api.get(API, {"reason": "because"})
    too_long = add(api, address=f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.{'e' * 47}.com")

    assert [error["field"] for error in bad_address.json()["errors"]] == ["address"]
    assert too_long.status_code == 422
    assert [(error["field"], error["message"]) for error in too_long.json()["errors"]] == [
        ("address", "Enter a valid e-mail address of at most 254 characters.")]
    assert [error["field"] for error in bad_reason.json()["errors"]] == ["reason"]
    assert bad_filter.status_code == 422
    with in_org(org):
        assert not SuppressedAddress.objects.exists()


def test_only_campaign_managers_use_the_list_and_only_their_own(
        org, other_org, admin, make_member, api_client_for):
    sales = make_member(org, Role.SALES, email="sam@example.com")
    outsider = make_member(other_org, Role.ADMIN, email="olga@example.com")
    entry = add(api_client_for(admin), address="ada@example.com").json()

    assert api_client_for(sales).get(API).status_code == 403
    assert add(api_client_for(sales), address="b@example.com").status_code == 403
    assert api_client_for(outsider).get(f"{API}/{entry['id']}").status_code == 404
    assert api_client_for(outsider).delete(f"{API}/{entry['id']}").status_code == 404
    assert api_client_for(outsider).get(API).json()["items"] == []
