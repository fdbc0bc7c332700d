"""Pipelines, deals and stage moves through the services every entry point uses."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope

from accord import events
from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.customers.services import create_company, create_contact
from accord.errors import Conflict, InvalidInput, StaleVersion
from accord.sales import services
from accord.sales.models import Deal, DealStatus, StageChange, StageKind


@pytest.fixture
def sales(org, admin):
    """The organisation's default pipeline and its admin, inside the tenant scope."""
    with scope(organization=org):
        pipeline = services.create_pipeline(org, admin.user, name="New business")
        yield pipeline, admin.user


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


def test_a_pipeline_without_stages_gets_the_usual_ones_in_order(org, sales):
    pipeline, _ = sales
    assert [s.name for s in pipeline.stages.order_by("position")] == [
        "Qualification", "Meeting", "Proposal", "Negotiation", "Won", "Lost"]
    assert pipeline.is_default
    assert stage(pipeline, "Proposal").probability == 50
    assert stage(pipeline, "Won").kind == StageKind.WON


def test_a_pipeline_needs_an_open_a_won_and_a_lost_stage(org, sales):
    _, user = sales
    with pytest.raises(InvalidInput) as caught:
        services.create_pipeline(org, user, name="Partners",
                                 stages=[{"name": "Talking"}, {"name": "Signed", "kind": "won"}])
    assert caught.value.as_dict() == {"stages": "A pipeline needs at least a lost stage."}


def test_a_new_deal_starts_in_the_first_stage_with_a_history_row(org, sales):
    pipeline, user = sales
    deal = services.create_deal(org, user, data={"name": "Forty laptops", "amount": "1200.50"})
    assert deal.stage == stage(pipeline, "Qualification")
    assert deal.currency == org.base_currency
    assert deal.amount == Decimal("1200.50")
    assert deal.owner == user
    first = StageChange.objects.get(deal=deal)
    assert (first.from_stage, first.to_stage) == (None, deal.stage)


def test_moving_records_the_time_spent_in_the_stage_left(org, sales):
    pipeline, user = sales
    deal = services.create_deal(org, user, data={"name": "Renewal"})
    deal.__class__.objects.filter(pk=deal.pk).update(
        stage_entered_at=timezone.now() - dt.timedelta(days=3))
    deal.refresh_from_db()
    deal = services.move_deal_to_stage(org, user, deal, stage(pipeline, "Proposal"),
                                       expected_version=deal.version)
    move = StageChange.objects.filter(deal=deal).last()
    assert move.from_stage.name == "Qualification"
    assert move.to_stage.name == "Proposal"
    assert 3 * 86400 <= move.seconds_in_from_stage < 3 * 86400 + 60
    assert AuditEntry.objects.filter(object_id=deal.pk, entity="deal",
                                     action="update").count() == 1


def test_a_deal_cannot_be_won_without_amount_owner_and_customer(org, sales):
    pipeline, user = sales
    deal = services.create_deal(org, user, data={"name": "Bare", "owner": None})
    with pytest.raises(InvalidInput) as caught:
        services.move_deal_to_stage(org, user, deal, stage(pipeline, "Won"))
    assert set(caught.value.as_dict()) == {"amount", "owner", "company"}
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN

    company = create_company(org, user, data={"name": "Initech"})
    deal = services.update_deal(org, user, deal, data={
        "amount": "500", "owner": user.pk, "company": company.pk})
    deal = services.move_deal_to_stage(org, user, deal, stage(pipeline, "Won"))
    assert deal.status == DealStatus.WON
    assert deal.closed_on == timezone.localdate()


def test_a_lost_deal_needs_a_reason(org, sales):
    pipeline, user = sales
    deal = services.create_deal(org, user, data={"name": "Long shot"})
    with pytest.raises(InvalidInput) as caught:
        services.move_deal_to_stage(org, user, deal, stage(pipeline, "Lost"), reason="  ")
    assert caught.value.as_dict() == {"reason": "Say why the deal was lost."}
    deal = services.move_deal_to_stage(org, user, deal, stage(pipeline, "Lost"),
                                       reason="Went with a competitor")
    assert (deal.status, deal.close_reason) == (DealStatus.LOST, "Went with a competitor")

    reopened = services.move_deal_to_stage(org, user, deal, stage(pipeline, "Meeting"))
    assert (reopened.status, reopened.close_reason, reopened.closed_on) == ("open", "", None)


def test_a_move_based_on_an_old_version_is_refused_and_changes_nothing(org, sales):
    pipeline, user = sales
    deal = services.create_deal(org, user, data={"name": "Contested"})
    seen = deal.version
    services.move_deal_to_stage(org, user, deal, stage(pipeline, "Meeting"),
                                expected_version=seen)
    with pytest.raises(StaleVersion):
        services.move_deal_to_stage(org, user, deal, stage(pipeline, "Proposal"),
                                    expected_version=seen)
    deal.refresh_from_db()
    assert deal.stage.name == "Meeting"
    assert StageChange.objects.filter(deal=deal).count() == 2


def test_a_stage_with_deals_is_deleted_only_after_moving_them(org, sales):
    pipeline, user = sales
    deals = [services.create_deal(org, user, data={"name": f"D{n}",
                                                     "stage": stage(pipeline, "Meeting").pk})
             for n in range(2)]
    with pytest.raises(Conflict, match="2 deal"):
        services.delete_stage(org, user, stage(pipeline, "Meeting"))
    moved = services.delete_stage(org, user, stage(pipeline, "Meeting"),
                                  move_to=stage(pipeline, "Proposal"))
    assert moved == 2
    for deal in deals:
        deal.refresh_from_db()
        assert deal.stage.name == "Proposal"
    assert [s.position for s in pipeline.stages.order_by("position")] == [0, 1, 2, 3, 4]


def test_history_keeps_the_name_of_a_deleted_stage(org, admin, sales, client_for,
                                                  api_client_for):
    pipeline, user = sales
    deal = services.create_deal(org, user, data={"name": "Kiosk",
                                                 "stage": stage(pipeline, "Meeting").pk})
    services.move_deal_to_stage(org, user, deal, stage(pipeline, "Proposal"))
    services.delete_stage(org, user, stage(pipeline, "Meeting"))
    stage(pipeline, "Proposal").__class__.objects.filter(name="Proposal").update(name="Offer")

    history = api_client_for(admin).get(f"/api/v1/deals/{deal.pk}/history").json()["items"]
    assert [(item["from_stage_name"], item["to_stage_name"]) for item in history] == [
        ("", "Meeting"), ("Meeting", "Offer")]
    page = client_for(admin).get(f"/deals/{deal.pk}/").content.decode()
    assert "<strong>Meeting</strong>" in page
    assert "a deleted stage" not in page


def test_the_last_won_stage_cannot_be_deleted(org, sales):
    pipeline, user = sales
    with pytest.raises(InvalidInput):
        services.delete_stage(org, user, stage(pipeline, "Won"))


def test_line_items_make_the_amount_to_the_cent_unless_it_was_typed(org, sales):
    _, user = sales
    deal = services.create_deal(org, user, data={"name": "Packages", "currency": "EUR"})
    deal = services.set_line_items(org, user, deal, items=[
        {"name": "Service package A", "quantity": "1", "unit_price": "55.55",
         "tax_percent": "23"},
        {"name": "Service package B", "quantity": "1", "unit_price": "11.11",
         "tax_percent": "23"},
    ])
    deal.refresh_from_db()
    assert deal.amount == Decimal("82.00")

    deal = services.update_deal(org, user, deal, data={"amount": "90"})
    services.set_line_items(org, user, deal, items=[
        {"name": "Cable set", "quantity": "3", "unit_price": "0.35", "tax_percent": "19"}])
    deal.refresh_from_db()
    assert deal.amount == Decimal("90")


def test_line_items_name_each_bad_value(org, sales):
    _, user = sales
    deal = services.create_deal(org, user, data={"name": "Bad lines"})
    with pytest.raises(InvalidInput) as caught:
        services.set_line_items(org, user, deal, items=[
            {"name": "", "quantity": "0", "unit_price": "abc", "discount_percent": "120"}])
    assert caught.value.as_dict() == {
        "line_items.0.name": "Name the item or choose a product.",
        "line_items.0.quantity": "Must be at least 0.001.",
        "line_items.0.unit_price": "Enter a number such as 1250.50.",
        "line_items.0.discount_percent": "Must be at most 100.",
    }


def test_amounts_convert_with_the_last_rate_on_or_before_the_day(org, sales):
    _, user = sales
    services.set_exchange_rate(org, user, currency="EUR", valid_on="2026-01-01", rate="1.10")
    services.set_exchange_rate(org, user, currency="EUR", valid_on="2026-02-01", rate="1.20")
    assert services.to_base(org, Decimal("100"), "EUR", dt.date(2026, 1, 31)) == Decimal(
        "110.0000000000")
    assert services.to_base(org, Decimal("100"), "EUR", dt.date(2026, 2, 1)) == Decimal(
        "120.0000000000")
    with pytest.raises(services.MissingRate):
        services.to_base(org, Decimal("100"), "EUR", dt.date(2025, 12, 31))


def test_wins_emit_events_only_once_committed(org, sales, django_capture_on_commit_callbacks):
    pipeline, user = sales
    seen = []
    events.subscribe("deal.won", seen.append)
    try:
        company = create_company(org, user, data={"name": "Hooli"})
        deal = services.create_deal(org, user, data={"name": "Big", "amount": "10",
                                                      "company": company.pk})
        with django_capture_on_commit_callbacks(execute=True):
            services.move_deal_to_stage(org, user, deal, stage(pipeline, "Won"))
    finally:
        events.unsubscribe("deal.won", seen.append)
    assert [event.type for event in seen] == ["deal.won"]
    deal_events = DomainEvent.objects.filter(entity="deal", object_id=deal.pk)
    assert list(deal_events.order_by("id").values_list("type", flat=True)) == [
        "deal.created", "deal.stage_changed", "deal.won"]


def test_an_activity_on_a_deal_stops_it_rotting(org, sales):
    from accord.activities.services import log_activity

    _, user = sales
    contact = create_contact(org, user, data={"first_name": "Ada"})
    deal = services.create_deal(org, user, data={"name": "Quiet",
                                                 "contacts": [{"contact": contact.pk,
                                                               "role": "Champion"}]})
    deal.__class__.objects.filter(pk=deal.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(days=30))
    log_activity(org, user, data={"kind": "call", "subject": "Check-in", "deal": deal.pk})
    deal.refresh_from_db()
    assert timezone.now() - deal.last_activity_at < dt.timedelta(minutes=1)
    assert deal.contact_links.get().role == "Champion"


def test_a_product_line_takes_the_price_in_the_deals_currency(org, sales):
    from accord.commerce.models import Product, ProductPrice

    _, user = sales
    widget = Product.objects.create(organization=org, sku="W-1", name="Widget",
                                    unit_price=Decimal("100.00"), currency="USD")
    ProductPrice.objects.create(organization=org, product=widget, currency="EUR",
                                unit_price=Decimal("90.00"))
    euro = services.create_deal(org, user, data={
        "name": "Euro widget", "currency": "EUR", "line_items": [{"product": widget.pk}]})
    assert euro.line_items.get().unit_price == Decimal("90.00")
    with pytest.raises(InvalidInput) as caught:
        services.create_deal(org, user, data={
            "name": "Pound widget", "currency": "GBP", "line_items": [{"product": widget.pk}]})
    assert caught.value.as_dict() == {
        "line_items.0.unit_price": "This product has no price in GBP; enter a unit price."}


def test_deals_swept_from_a_deleted_stage_go_to_an_open_stage_only(org, sales):
    pipeline, user = sales
    services.create_deal(org, user, data={"name": "Bare", "stage": stage(pipeline, "Meeting").pk})
    with pytest.raises(InvalidInput) as caught:
        services.delete_stage(org, user, stage(pipeline, "Meeting"),
                              move_to=stage(pipeline, "Won"))
    assert "open stage" in caught.value.as_dict()["move_to"]


def test_won_and_lost_stages_have_fixed_probabilities(org, sales):
    _, user = sales
    with pytest.raises(InvalidInput) as caught:
        services.create_pipeline(org, user, name="Odd", stages=[
            {"name": "A"}, {"name": "W", "kind": "won", "probability": 10},
            {"name": "L", "kind": "lost", "probability": 90}])
    assert {error["field"] for error in caught.value.errors} == {
        "stages.1.probability", "stages.2.probability"}


def test_an_amount_has_no_more_decimals_than_its_currency(org, sales):
    _, user = sales
    with pytest.raises(InvalidInput) as caught:
        services.create_deal(org, user, data={"name": "Yen", "currency": "JPY",
                                              "amount": "5.5"})
    assert caught.value.as_dict() == {"amount": "JPY amounts have at most 0 decimal places."}
    deal = services.create_deal(org, user, data={"name": "Cents", "amount": "12.34"})
    assert deal.amount == Decimal("12.34")


def test_no_deal_goes_into_a_switched_off_pipeline(org, sales):
    pipeline, user = sales
    old = services.create_pipeline(org, user, name="Old partners")
    services.update_pipeline(org, user, old, data={"is_active": False})
    with pytest.raises(InvalidInput) as caught:
        services.create_deal(org, user, data={"name": "Late", "pipeline": old.pk})
    assert caught.value.as_dict() == {
        "pipeline": "This pipeline is switched off; choose an active one."}
    deal = services.create_deal(org, user, data={"name": "Current"})
    with pytest.raises(InvalidInput):
        services.move_deal_to_stage(org, user, deal, old.stages.get(name="Meeting"))


def test_a_deal_is_owned_only_by_someone_who_may_work_on_it(org, sales, make_member):
    from accord.identity.models import Role

    _, user = sales
    reader = make_member(org, Role.READ_ONLY)
    with pytest.raises(InvalidInput) as caught:
        services.create_deal(org, user, data={"name": "Watched", "owner": reader.user.pk})
    assert caught.value.as_dict() == {
        "owner": "This member's role cannot work on these records; choose another."}


def test_a_new_tax_rounding_recomputes_open_deals_from_their_lines(org, sales, admin,
                                                                   client_for):
    _, user = sales
    lines = [{"name": "Service package A", "quantity": "1", "unit_price": "55.55",
              "tax_percent": "23"},
             {"name": "Service package B", "quantity": "1", "unit_price": "11.11",
              "tax_percent": "23"}]
    with scope(organization=org):
        open_deal = services.create_deal(org, user, data={"name": "Open", "currency": "EUR"})
        services.set_line_items(org, user, open_deal, items=lines)
        won = services.create_deal(org, user, data={"name": "Won", "currency": "EUR"})
        services.set_line_items(org, user, won, items=lines)
        Deal.objects.filter(pk=won.pk).update(status=DealStatus.WON)

    answer = client_for(admin).post("/settings/organization/", {
        "name": org.name, "base_currency": org.base_currency, "time_zone": org.time_zone,
        "tax_rounding": "document"})

    assert answer.status_code == 302
    with scope(organization=org):
        amounts = dict(Deal.objects.values_list("name", "amount"))
        entry = AuditEntry.objects.filter(entity="deal", object_id=open_deal.pk).latest("pk")
    # Per line 68.33 + 13.67; on the document 66.66 net + 15.33 tax.
    assert amounts == {"Open": Decimal("81.9900"), "Won": Decimal("82.0000")}
    assert entry.changes == {"amount": ["82.0000", "81.99"]}
