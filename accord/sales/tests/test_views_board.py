"""The deals board through the test client: columns, totals, filters and moves."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accord.activities import services as activities
from accord.customers.services import create_company
from accord.identity.models import Role
from accord.sales import services
from accord.sales.models import Deal, StageChange


@pytest.fixture
def pipeline(org, admin, in_org):
    with in_org(org):
        return services.create_pipeline(org, admin.user, name="New business")


def stage(org, pipeline, name, in_org):
    with in_org(org):
        return pipeline.stages.get(name=name)


def make_deal(org, actor, in_org, **data):
    with in_org(org):
        return services.create_deal(org, actor.user, data=data)


def column(body: str, stage_id: int) -> str:
    match = re.search(rf'<section class="board-column" id="stage-{stage_id}".*?</section>',
                      body, re.S)
    assert match, f"no column for stage {stage_id}"
    return match.group(0)


def totals(body: str, stage_id: int) -> tuple[str, str, str]:
    html = column(body, stage_id)
    count = re.search(r"<span class=\"badge\" data-count>(\d+)</span>", html).group(1)
    total = re.search(r"data-total>([^<]*)</dd>", html).group(1)
    weighted = re.search(r"data-weighted>([^<]*)</dd>", html).group(1)
    return count, total, weighted


def test_deals_in_the_navigation_lead_to_the_default_pipelines_board(org, admin, client_for,
                                                                    pipeline):
    client = client_for(admin)

    home = client.get(reverse("core:home")).content.decode()
    response = client.get(reverse("sales:home"))

    assert f'<a href="{reverse("sales:home")}"' in home
    assert home.index(">Companies<") < home.index(">Deals<")
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:board", args=[pipeline.pk])


def test_a_column_shows_count_total_and_weighted_total_in_the_base_currency(
    org, admin, client_for, pipeline, in_org
):
    with in_org(org):
        services.set_exchange_rate(org, admin.user, currency="GBP",
                                   valid_on=timezone.localdate(), rate="0.5")
    proposal = stage(org, pipeline, "Proposal", in_org)
    make_deal(org, admin, in_org, name="Laptops", amount="1000", stage=proposal.pk)
    make_deal(org, admin, in_org, name="Screens", amount="300", currency="GBP",
              stage=proposal.pk)

    body = client_for(admin).get(reverse("sales:board", args=[pipeline.pk])).content.decode()

    currency = org.base_currency
    assert totals(body, proposal.pk) == ("2", f"1,150.00 {currency}", f"575.00 {currency}")
    assert "Laptops" in column(body, proposal.pk)
    assert "300.00 GBP" in column(body, proposal.pk)


def test_a_deal_in_a_currency_without_rate_is_shown_but_left_out_of_the_totals(
    org, admin, client_for, pipeline, in_org
):
    meeting = stage(org, pipeline, "Meeting", in_org)
    make_deal(org, admin, in_org, name="Local", amount="100", stage=meeting.pk)
    make_deal(org, admin, in_org, name="Yen deal", amount="90000", currency="JPY",
              stage=meeting.pk)

    body = client_for(admin).get(reverse("sales:board", args=[pipeline.pk])).content.decode()

    html = column(body, meeting.pk)
    assert totals(body, meeting.pk)[:2] == ("2", f"100.00 {org.base_currency}")
    assert "Yen deal" in html
    assert "1 deal in JPY is not in the totals: no exchange rate." in html


def test_a_card_shows_the_next_open_task_and_the_rotting_flag(org, admin, client_for,
                                                              pipeline, in_org):
    qualification = stage(org, pipeline, "Qualification", in_org)
    with in_org(org):
        services.update_stage(org, admin.user, qualification, data={"rot_after_days": 7})
    deal = make_deal(org, admin, in_org, name="Quiet one", next_step="Call back")
    soon = timezone.now() + dt.timedelta(days=1)
    with in_org(org):
        for subject, due in (("Send quote", soon + dt.timedelta(days=3)),
                             ("Book demo", soon)):
            activities.log_activity(org, admin.user, data={
                "kind": "task", "subject": subject, "deal": deal.pk, "due_at": due})
        Deal.objects.filter(pk=deal.pk).update(
            last_activity_at=timezone.now() - dt.timedelta(days=8))

    body = client_for(admin).get(reverse("sales:board", args=[pipeline.pk])).content.decode()

    card = re.search(rf'<li class="card rotting" id="deal-card-{deal.pk}".*?</li>', body,
                     re.S).group(0)
    assert "Task: Book demo" in card
    assert "Next step: Call back" in card
    assert "Rotting" in card


def test_filters_keep_only_the_owners_deals_and_the_totals_follow(
    org, admin, member, client_for, pipeline, in_org
):
    first = stage(org, pipeline, "Qualification", in_org)
    make_deal(org, admin, in_org, name="Mine", amount="10", owner=admin.user.pk)
    make_deal(org, admin, in_org, name="Theirs", amount="20", owner=member.user.pk)

    body = client_for(admin).get(reverse("sales:board", args=[pipeline.pk]),
                                 {"owner": member.user.pk}).content.decode()

    assert "Theirs" in body
    assert "Mine" not in body
    assert totals(body, first.pk)[:2] == ("1", f"20.00 {org.base_currency}")


def test_a_long_column_shows_fifty_cards_and_a_link_to_more(org, admin, client_for, pipeline,
                                                            in_org):
    first = stage(org, pipeline, "Qualification", in_org)
    for number in range(52):
        make_deal(org, admin, in_org, name=f"Deal {number:02d}")
    client = client_for(admin)

    body = client.get(reverse("sales:board", args=[pipeline.pk])).content.decode()
    more = re.search(r'<li class="more"><a class="button" href="([^"]+)"', body).group(1)
    rest = client.get(more.replace("&amp;", "&"), headers={"HX-Request": "true"})

    html = column(body, first.pk)
    assert html.count('<li class="card') == 50
    assert totals(body, first.pk)[0] == "52"
    assert rest.content.decode().count('<li class="card') == 2


def test_move_to_form_moves_the_deal_and_returns_to_the_board(org, admin, client_for,
                                                             pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Moving")
    proposal = stage(org, pipeline, "Proposal", in_org)
    board_url = reverse("sales:board", args=[pipeline.pk])

    response = client_for(admin).post(reverse("sales:deal_move", args=[deal.pk]), {
        "stage": proposal.pk, "version": deal.version, "next": board_url})

    assert response.status_code == 302
    assert response["Location"] == board_url
    with in_org(org):
        assert Deal.objects.get(pk=deal.pk).stage == proposal
        assert StageChange.objects.filter(deal=deal).count() == 2


def test_a_drag_answers_204_and_a_stale_card_409_with_a_message(org, admin, client_for,
                                                                pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Dragged")
    proposal = stage(org, pipeline, "Proposal", in_org)
    meeting = stage(org, pipeline, "Meeting", in_org)
    client = client_for(admin)
    url = reverse("sales:deal_move", args=[deal.pk])

    moved = client.post(url, {"stage": proposal.pk, "version": deal.version},
                        headers={"HX-Request": "true"})
    stale = client.post(url, {"stage": meeting.pk, "version": deal.version},
                        headers={"HX-Request": "true"})

    assert moved.status_code == 204
    assert stale.status_code == 409
    assert stale.content.decode() == ("“Dragged” was changed by someone else meanwhile; the "
                                      "board shows it as it is now.")
    with in_org(org):
        assert Deal.objects.get(pk=deal.pk).stage == proposal


def test_a_stale_move_without_script_returns_to_the_board_with_the_message(
    org, admin, client_for, pipeline, in_org
):
    deal = make_deal(org, admin, in_org, name="Old card")
    proposal = stage(org, pipeline, "Proposal", in_org)
    with in_org(org):
        services.update_deal(org, admin.user, deal, data={"next_step": "Call"})
    client = client_for(admin)
    board_url = reverse("sales:board", args=[pipeline.pk])

    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {
        "stage": proposal.pk, "version": deal.version, "next": board_url}, follow=True)

    assert "“Old card” was changed by someone else meanwhile" in response.content.decode()
    with in_org(org):
        assert Deal.objects.get(pk=deal.pk).stage.name == "Qualification"


def test_moving_into_lost_asks_for_the_reason_then_moves(org, admin, client_for, pipeline,
                                                         in_org):
    deal = make_deal(org, admin, in_org, name="Slipping")
    lost = stage(org, pipeline, "Lost", in_org)
    client = client_for(admin)
    url = reverse("sales:deal_move", args=[deal.pk])

    asked = client.post(url, {"stage": lost.pk, "version": deal.version},
                        headers={"HX-Request": "true"})
    form = client.get(url, {"stage": lost.pk})
    done = client.post(url, {"stage": lost.pk, "version": deal.version,
                             "reason": "Went with a competitor"})

    assert asked.status_code == 422
    assert 'name="reason"' in form.content.decode()
    assert done.status_code == 302
    with in_org(org):
        deal = Deal.objects.get(pk=deal.pk)
        assert (deal.status, deal.close_reason) == ("lost", "Went with a competitor")


def test_moving_into_won_names_what_is_missing(org, admin, client_for, pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Too early", owner=None)
    won = stage(org, pipeline, "Won", in_org)

    response = client_for(admin).post(reverse("sales:deal_move", args=[deal.pk]), {
        "stage": won.pk, "version": deal.version})

    body = response.content.decode()
    assert response.status_code == 422
    assert "A won deal needs an amount." in body
    assert "A won deal needs an owner." in body
    assert "A won deal needs a company or a contact." in body


def test_a_read_only_member_sees_the_board_but_cannot_move(org, admin, make_member,
                                                           client_for, pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Look only")
    reader = make_member(org, Role.READ_ONLY)
    client = client_for(reader)
    proposal = stage(org, pipeline, "Proposal", in_org)

    body = client.get(reverse("sales:board", args=[pipeline.pk])).content.decode()
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {
        "stage": proposal.pk, "version": deal.version})

    assert "Look only" in body
    assert 'draggable="true"' not in body
    assert "move-form" not in body
    assert response.status_code == 403


def test_another_organizations_pipeline_deal_and_stage_answer_404(
    org, other_org, admin, client_for, pipeline, in_org
):
    deal = make_deal(org, admin, in_org, name="Ours")
    with in_org(other_org):
        from accord.identity.models import Membership

        stranger = Membership.objects.get(organization=other_org, role=Role.ADMIN)
        theirs = services.create_pipeline(other_org, stranger.user, name="Theirs")
        their_stage = theirs.stages.first()
    client = client_for(admin)

    assert client.get(reverse("sales:board", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("sales:deal_move", args=[deal.pk]), {
        "stage": their_stage.pk, "version": deal.version}).status_code == 404
    assert client_for(stranger).get(reverse("sales:deal", args=[deal.pk])).status_code == 404


def test_the_team_filter_keeps_deals_owned_by_the_teams_members(
    org, admin, member, client_for, pipeline, in_org
):
    from accord.identity.models import Team

    with in_org(org):
        team = Team.objects.create(organization=org, name="North")
        member.team = team
        member.save()
        company = create_company(org, admin.user, data={"name": "Acme"})
    make_deal(org, admin, in_org, name="Team deal", owner=member.user.pk, company=company.pk,
              amount=Decimal("5"))
    make_deal(org, admin, in_org, name="Other deal", owner=admin.user.pk)

    body = client_for(admin).get(reverse("sales:board", args=[pipeline.pk]),
                                 {"team": team.pk}).content.decode()

    assert "Team deal" in body
    assert "Acme" in body
    assert "Other deal" not in body
