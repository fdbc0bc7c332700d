"""Segment pages through the test client: building with plain posts and htmx, members as
each person may see them, CSV, freezing, refreshing and deleting."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.identity.visibility import update_visibility
from accord.marketing import services
from accord.marketing.models import Segment, SegmentMember

LEADS = {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["lead"]}]}


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING, full_name="Mia Marketer")


@pytest.fixture
def contacts(org, admin, member, in_org):
    """Two leads owned by the sales member and the admin, and a customer."""
    with in_org(org):
        make = customer_services.create_contact
        return {
            "ann": make(org, admin.user, data={"first_name": "Ann", "last_name": "Admin",
                                               "lifecycle_stage": "lead", "tags": ["vip"],
                                               "owner": admin.user_id}),
            "sam": make(org, admin.user, data={"first_name": "Sol", "last_name": "Sales",
                                               "lifecycle_stage": "lead", "email":
                                               "=cmd@sales.example", "owner": member.user_id}),
            "cy": make(org, admin.user, data={"first_name": "Cy", "last_name": "Customer",
                                              "lifecycle_stage": "customer"}),
        }


def _post(rows: dict, **extra) -> dict:
    """A builder post: the root group `n` plus the given row fields."""
    return {"n:type": "group", "n:match": "all", **rows, **extra}


def test_marketer_builds_a_nested_segment_with_plain_posts(org, marketer, contacts,
                                                           client_for):
    client = client_for(marketer)
    url = "/segments/new/"
    blank = _post({"n_0:type": "condition", "n_0:subject": ""}, name="Hot leads",
                  kind="dynamic")

    page = client.get(url)
    added = client.post(url, {**blank, "action": "group:n"})
    chosen = client.post(url, {**blank, "n_0:subject": "field:lifecycle_stage",
                               "action": "update"})
    with_param = client.post(url, {**blank, "n_0:subject": "kind:activity",
                                   "n_0:p:type": "call", "action": "update"})
    counted = client.post(url + "?part=count", {
        **blank, "n_0:subject": "field:lifecycle_stage", "n_0:op": "in",
        "n_0:value": ["lead"]}, HTTP_HX_REQUEST="true")
    bad = client.post(url, {**blank, "n_0:subject": "field:birthday", "n_0:op": "eq",
                            "n_0:value": "soon", "action": "save"})
    saved = client.post(url, _post({
        "n_0:type": "condition", "n_0:subject": "field:lifecycle_stage", "n_0:op": "in",
        "n_0:value": ["lead"],
        "n_1:type": "group", "n_1:match": "any",
        "n_1_0:type": "condition", "n_1_0:subject": "kind:tag", "n_1_0:op": "has",
        "n_1_0:value": "vip",
        "n_1_1:type": "condition", "n_1_1:subject": "field:first_name",
        "n_1_1:op": "starts_with", "n_1_1:value": "so",
        "n_1_2:type": "condition", "n_1_2:subject": "kind:activity", "n_1_2:p:type": "call",
        "n_1_2:op": "in_last_days", "n_1_2:value": "30",
        "n_1_3:type": "condition", "n_1_3:subject": "",
        "n_1_4:type": "group", "n_1_4:match": "all",
        "n_1_4_0:type": "condition", "n_1_4_0:subject": "",
    }, name="Hot leads", kind="dynamic", description="", action="save"))

    assert page.status_code == 200
    assert 'name="n_0:subject"' in page.content.decode()
    assert added.status_code == 200
    assert 'name="n_1:match"' in added.content.decode()
    assert 'name="n_1_0:subject"' in added.content.decode()
    assert '<option value="in" selected>' in chosen.content.decode()
    assert '<option value="customer">Customer</option>' in chosen.content.decode()
    assert '<option value="call" selected>' in with_param.content.decode()
    assert 'name="n_1:type"' not in with_param.content.decode()
    assert counted.status_code == 200
    assert counted.content.decode().strip().startswith('<p id="segment-count"')
    assert "2 contacts match" in counted.content.decode()
    assert bad.status_code == 422
    assert "Not a date; enter it as YYYY-MM-DD." in bad.content.decode()
    assert saved.status_code == 302
    with scope(organization=org):
        segment = Segment.objects.get()
        assert saved["Location"] == f"/segments/{segment.pk}/"
        assert segment.conditions == {"all": [
            {"field": "lifecycle_stage", "op": "in", "value": ["lead"]},
            {"any": [{"kind": "tag", "op": "has", "value": "vip"},
                     {"field": "first_name", "op": "starts_with", "value": "so"},
                     {"kind": "activity", "type": "call", "op": "in_last_days",
                      "value": 30}]}]}
        assert AuditEntry.objects.filter(entity="segment", action="create").count() == 1
        assert DomainEvent.objects.filter(type="segment.created",
                                          object_id=segment.pk).count() == 1


def test_editing_a_segment_someone_else_changed_answers_409(org, marketer, admin, contacts,
                                                            client_for, in_org):
    with in_org(org):
        segment = services.create_segment(org, admin.user, data={"name": "Leads",
                                                                  "conditions": LEADS})
        services.update_segment(org, admin.user, segment, data={"name": "Leads 2"})
    client = client_for(marketer)

    page = client.get(f"/segments/{segment.pk}/edit/")
    stale = client.post(f"/segments/{segment.pk}/edit/", _post({
        "n_0:type": "condition", "n_0:subject": "field:lifecycle_stage", "n_0:op": "in",
        "n_0:value": ["customer"]}, name="Customers", kind="dynamic", version="1",
        action="save"))

    assert 'name="n_0:value"' in page.content.decode()
    assert '<option value="lead" selected>' in page.content.decode()
    assert stale.status_code == 409
    assert "changed by someone else" in stale.content.decode()


def test_members_are_those_the_person_may_see_and_export_escapes_formulas(
        org, admin, member, make_member, contacts, client_for, in_org):
    with in_org(org):
        segment = services.create_segment(org, admin.user, data={"name": "Leads",
                                                                  "conditions": LEADS})
    update_visibility(org, admin.user, roles={"sales": {"contacts": "own"}})
    reader = make_member(org, Role.READ_ONLY)

    as_admin = client_for(admin).get(f"/segments/{segment.pk}/")
    as_sales = client_for(member).get(f"/segments/{segment.pk}/")
    export = client_for(member).get(f"/segments/{segment.pk}/export.csv")
    as_reader = client_for(reader).get(f"/segments/{segment.pk}/")
    reader_export = client_for(reader).get(f"/segments/{segment.pk}/export.csv")
    listing = client_for(member).get("/segments/")

    assert "Ann Admin" in as_admin.content.decode()
    assert "Sol Sales" in as_admin.content.decode()
    assert "Sol Sales" in as_sales.content.decode()
    assert "Ann Admin" not in as_sales.content.decode()
    body = b"".join(export.streaming_content).decode()
    assert body.splitlines() == [
        "\ufeffid,first_name,last_name,email,phone,company,lifecycle_stage,city,country",
        f"{contacts['sam'].pk},Sol,Sales,'=cmd@sales.example,,,lead,,",
    ]
    assert "Export CSV" not in as_reader.content.decode()
    assert reader_export.status_code == 403
    assert ">1</td>" in listing.content.decode()
    assert "New segment" not in listing.content.decode()


def test_freezing_keeps_the_members_until_refreshed_and_delete_removes_it(
        org, marketer, admin, contacts, client_for, in_org):
    with in_org(org):
        segment = services.create_segment(org, admin.user, data={"name": "Leads",
                                                                  "conditions": LEADS})
    client = client_for(marketer)

    frozen = client.post(f"/segments/{segment.pk}/freeze/", {"version": "1"})
    with in_org(org):
        customer_services.create_contact(org, admin.user, data={
            "first_name": "Newt", "lifecycle_stage": "lead"})
    before_refresh = client.get(f"/segments/{segment.pk}/")
    refreshed = client.post(f"/segments/{segment.pk}/refresh/", {"version": "2"})
    after_refresh = client.get(f"/segments/{segment.pk}/")
    confirm = client.get(f"/segments/{segment.pk}/delete/")
    deleted = client.post(f"/segments/{segment.pk}/delete/", {"version": "3"})

    assert frozen.status_code == 302
    assert "Newt" not in before_refresh.content.decode()
    assert refreshed.status_code == 302
    assert "Newt" in after_refresh.content.decode()
    assert confirm.status_code == 200
    assert deleted["Location"] == "/segments/"
    with in_org(org):
        assert not Segment.objects.exists()
        assert not SegmentMember.objects.exists()
        assert DomainEvent.objects.filter(type="segment.updated").count() == 2
        assert DomainEvent.objects.filter(type="segment.deleted").count() == 1


def test_sales_may_look_at_segments_but_not_build_them(org, member, client_for):
    client = client_for(member)

    assert client.get("/segments/").status_code == 200
    assert client.get("/segments/new/").status_code == 403
