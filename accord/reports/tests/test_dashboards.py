"""The home page's dashboard per role, and dashboards assembled from saved reports."""

import re

import pytest
from django.urls import reverse
from django_scopes import scope

from accord.identity.models import Role
from accord.reports.models import DashboardTile, SavedReport


def tile_titles(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", title) for title in
            re.findall(r'<h2 id="tile-\d+">(.*?)</h2>', page)]


@pytest.mark.parametrize(("role", "titles"), [
    (Role.SALES, ["My open deals", "Pipeline by stage", "Won this month", "My tasks due"]),
    (Role.SUPPORT, ["Open tickets by status and priority", "Breached SLAs", "My queue"]),
    (Role.MARKETING, ["Contacts by lifecycle stage", "New contacts per week",
                      "Segment sizes"]),
    (Role.MANAGER, ["Forecast this quarter against quota", "Pipeline by stage",
                    "Team activity in the last 7 days"]),
    (Role.ADMIN, ["Forecast this quarter against quota", "Pipeline by stage",
                  "Team activity in the last 7 days"]),
])
def test_the_home_page_shows_the_tiles_of_the_members_role(org, make_member, client_for,
                                                           role, titles):
    membership = make_member(org, role, email=f"{role}@example.com")

    page = client_for(membership).get(reverse("core:home")).content.decode()

    assert tile_titles(page) == titles


def test_my_open_deals_counts_the_sellers_own_deals(org, seller, client_for, pipeline_deals):
    page = client_for(seller).get(reverse("core:home")).content.decode()

    first_tile = page.split('<h2 id="tile-1">', 1)[1].split('<h2 id="tile-2">', 1)[0]
    assert re.findall(r'<td>([^<]+)</td><td class="number"><a href="[^"]+">(\d+)</a>',
                      first_tile) == [("Qualification", "2")]


def _report(org, owner, name, **definition):
    return SavedReport.objects.create(
        organization=org, owner=owner, name=name, is_shared=True,
        definition={"group_by": [], "measure": "count", "filters": {}, "chart": "table",
                    **definition})


def test_a_member_adds_reorders_and_removes_tiles(org, admin, client_for, pipeline_deals):
    client = client_for(admin)
    with scope(organization=org):
        deals = _report(org, admin.user, "Deals", entity="deals")
        contacts = _report(org, admin.user, "Contacts", entity="contacts")
    board = client.post(reverse("reports:dashboard_create"), {"name": "Monday"})
    url = board["Location"]
    tiles = url + "tiles/"

    client.post(tiles, {"action": "add", "report": deals.pk})
    client.post(tiles, {"action": "add", "report": contacts.pk})
    with scope(organization=org):
        second = DashboardTile.objects.get(report=contacts)
    client.post(tiles, {"action": "up", "tile": second.pk})
    reordered = tile_titles(client.get(url).content.decode())
    client.post(tiles, {"action": "remove", "tile": second.pk})
    remaining = tile_titles(client.get(url).content.decode())

    assert reordered == ["Contacts", "Deals"]
    assert remaining == ["Deals"]


def test_another_members_dashboard_answers_404(org, admin, make_member, client_for):
    client = client_for(admin)
    url = client.post(reverse("reports:dashboard_create"), {"name": "Mine"})["Location"]
    other = make_member(org, Role.MANAGER, email="boss@example.com")

    assert client_for(other).get(url).status_code == 404
    assert client_for(other).post(url + "tiles/", {"action": "remove",
                                                   "tile": 1}).status_code == 404
