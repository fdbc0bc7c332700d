"""Deals with chosen dates for the forecast and report tests, made through the services."""

import datetime as dt
from decimal import Decimal

from accord.customers.services import create_company
from accord.sales import services
from accord.sales.models import Deal, StageChange


class SalesBook:
    """A pipeline with the usual stages and a customer, inside the tenant scope."""

    def __init__(self, org, actor, *, pipeline: str = "New business"):
        self.org = org
        self.actor = actor
        self.pipeline = services.create_pipeline(org, actor, name=pipeline)
        self.company = create_company(org, actor, data={"name": f"{pipeline} customer"})

    def stage(self, name: str):
        return self.pipeline.stages.get(name=name)

    def open_deal(self, amount, *, close: dt.date | None, currency: str = "USD",
                  category: str = "pipeline", stage: str = "Qualification", owner=None,
                  name: str = "Deal") -> Deal:
        data = {"name": name, "amount": amount, "currency": currency,
                "expected_close_date": close, "forecast_category": category,
                "stage": self.stage(stage).pk, "company": self.company.pk}
        if owner is not None:
            data["owner"] = owner.pk
        return services.create_deal(self.org, owner or self.actor, data=data)

    def move(self, deal: Deal, stage: str, *, reason: str = "", days_in_stage=None) -> Deal:
        """Move `deal`, noting `days_in_stage` as the time spent in the stage it left."""
        deal = services.move_deal_to_stage(self.org, self.actor, deal, self.stage(stage),
                                           reason=reason)
        if days_in_stage is not None:
            StageChange.objects.filter(pk=deal.stage_changes.last().pk).update(
                seconds_in_from_stage=int(Decimal(days_in_stage) * 86400))
        return deal

    def close(self, deal: Deal, stage: str, *, on: dt.date, reason: str = "") -> Deal:
        """Win or lose `deal`, then date the close on `on` as if it happened that day."""
        deal = self.move(deal, stage, reason=reason)
        Deal.objects.filter(pk=deal.pk).update(closed_on=on)
        deal.refresh_from_db()
        return deal

    def created_on(self, deal: Deal, day: dt.date) -> None:
        Deal.objects.filter(pk=deal.pk).update(
            created_at=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC))
