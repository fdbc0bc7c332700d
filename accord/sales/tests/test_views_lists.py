"""The deals table and its CSV export, through the test client."""

import re

import pytest
from django.urls import reverse

from accord.customers.services import create_company
from accord.identity.models import Role
from accord.sales import services


@pytest.fixture
def pipeline(org, admin, in_org):
    with in_org(org):
        return services.create_pipeline(org, admin.user, name="New business")


def make_deal(org, actor, in_org, **data):
    with in_org(org):
        return services.create_deal(org, actor.user, data=data)


def names(body: str) -> list[str]:
    return re.findall(r'<td><a href="/deals/\d+/">([^<]*)</a></td>', body)


def test_search_finds_deals_by_name_and_company(org, admin, client_for, pipeline, in_org):
    with in_org(org):
        acme = create_company(org, admin.user, data={"name": "Acme Widgets"})
    make_deal(org, admin, in_org, name="Forty laptops")
    make_deal(org, admin, in_org, name="Renewal", company=acme.pk)
    client = client_for(admin)

    by_name = client.get(reverse("sales:deal_list"), {"q": "lapt"}).content.decode()
    by_company = client.get(reverse("sales:deal_list"), {"q": "widgets"}).content.decode()

    assert names(by_name) == ["Forty laptops"]
    assert names(by_company) == ["Renewal"]


def test_filters_and_sorting_by_amount(org, admin, member, client_for, pipeline, in_org):
    with in_org(org):
        meeting = pipeline.stages.get(name="Meeting")
    make_deal(org, admin, in_org, name="Small", amount="10", owner=member.user.pk)
    make_deal(org, admin, in_org, name="Large", amount="900", owner=member.user.pk)
    make_deal(org, admin, in_org, name="Elsewhere", amount="50", stage=meeting.pk)
    make_deal(org, admin, in_org, name="Closing", amount="70",
              expected_close_date="2027-01-15")
    client = client_for(admin)
    url = reverse("sales:deal_list")

    by_owner = client.get(url, {"owner": member.user.pk, "ordering": "-amount"})
    by_stage = client.get(url, {"stage": meeting.pk})
    by_close = client.get(url, {"close_from": "2027-01-01", "close_to": "2027-01-31"})

    assert names(by_owner.content.decode()) == ["Large", "Small"]
    assert names(by_stage.content.decode()) == ["Elsewhere"]
    assert names(by_close.content.decode()) == ["Closing"]


def test_the_list_pages_by_cursor(org, admin, client_for, pipeline, in_org):
    for number in range(52):
        make_deal(org, admin, in_org, name=f"Deal {number:02d}")
    client = client_for(admin)

    first = client.get(reverse("sales:deal_list"), {"ordering": "name"}).content.decode()
    next_query = re.search(r'<a href="\?([^"]+)" rel="next">', first).group(1)
    second = client.get(reverse("sales:deal_list") + "?" + next_query.replace("&amp;", "&"))

    assert names(first)[0] == "Deal 00"
    assert len(names(first)) == 50
    assert names(second.content.decode()) == ["Deal 50", "Deal 51"]


def test_a_bad_ordering_is_named_above_the_list(org, admin, client_for, pipeline):
    response = client_for(admin).get(reverse("sales:deal_list"), {"ordering": "colour"})

    assert response.status_code == 422
    assert ("Sort by one of: amount, created_at, expected_close_date, name, stage, "
            "updated_at") in response.content.decode()


def test_csv_export_has_the_filtered_rows_with_formulas_neutralised(org, admin, client_for,
                                                                    pipeline, in_org):
    make_deal(org, admin, in_org, name="=HYPERLINK(1)", amount="12.5", currency="EUR")
    make_deal(org, admin, in_org, name="Not this one")

    response = client_for(admin).get(reverse("sales:deal_export"), {"q": "hyperlink"})

    text = b"".join(response.streaming_content).decode()
    lines = text.lstrip("\ufeff").splitlines()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert lines[0] == ("Name,Company,Pipeline,Stage,Status,Amount,Currency,Expected close,"
                        "Owner,Source,Next step,Created")
    assert len(lines) == 2
    assert lines[1].startswith(f"'=HYPERLINK(1),,New business,Qualification,Open,12.5,EUR,,"
                               f"{admin.user.email},,,")


def test_a_read_only_member_reads_the_list_but_cannot_export(org, admin, make_member,
                                                             client_for, pipeline, in_org):
    make_deal(org, admin, in_org, name="Visible")
    client = client_for(make_member(org, Role.READ_ONLY))

    body = client.get(reverse("sales:deal_list")).content.decode()

    assert names(body) == ["Visible"]
    assert reverse("sales:deal_export") not in body
    assert client.get(reverse("sales:deal_export")).status_code == 403


def test_another_organizations_deals_are_not_listed(org, other_org, admin, make_member,
                                                    client_for, pipeline, in_org):
    make_deal(org, admin, in_org, name="Ours")
    outsider = make_member(other_org, Role.ADMIN)

    body = client_for(outsider).get(reverse("sales:deal_list")).content.decode()

    assert names(body) == []
