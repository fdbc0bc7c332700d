"""Loyalty: the organisation's programme and each customer's points and tier.

Points come from what a customer spent net of returns, in the base currency,
over the programme's window; the tier is the highest one whose threshold the
points reach. Statuses are recomputed with the other scores and whenever the
programme changes. Call everything inside the organisation's scope.
"""

import datetime as dt
import logging
import math
import re
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector
from accord.errors import StaleVersion

from .models import LoyaltyProgram, LoyaltyStatus
from .services import customer_totals

logger = logging.getLogger(__name__)

BATCH = 1000  # rows per upsert statement, well under SQLite's variable limit
MAX_TIERS = 10
MAX_MONTHS = 120
PROGRAM_FIELDS = ["is_active", "points_per_unit", "months", "tiers"]
DEFAULT_TIERS = [{"name": "Bronze", "points": 0}, {"name": "Silver", "points": 500},
                 {"name": "Gold", "points": 2000}]
TIER_LINE = re.compile(r"^\s*(?P<name>.+?)\s*[:=]?\s+(?P<points>\d+)\s*$")


def program_for(org) -> LoyaltyProgram:
    """The organisation's programme; an unsaved, switched-off default when never set."""
    return LoyaltyProgram.objects.first() or LoyaltyProgram(
        organization=org, tiers=[dict(tier) for tier in DEFAULT_TIERS])


def parse_tiers(text: str) -> list[dict]:
    """Tiers written one per line as "Name points" ("Silver 500"); ValueError naming the
    line that is not."""
    tiers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = TIER_LINE.match(line)
        if match is None:
            raise ValueError(_("Line %(number)s should be a name and a number of points, "
                               "such as “Silver 500”.") % {"number": number})
        tiers.append({"name": match["name"], "points": int(match["points"])})
    return tiers


def tiers_text(tiers: list[dict]) -> str:
    return "\n".join(f"{tier['name']} {tier['points']}" for tier in tiers)


def _clean(data: dict, errors: Collector) -> dict:
    out = {}
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.add("is_active", _("Give true or false."))
        out["is_active"] = data["is_active"]
    if "points_per_unit" in data:
        try:
            rate = Decimal(str(data["points_per_unit"]))
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or rate <= 0 or rate > 10000:
            errors.add("points_per_unit", _("Give a number of points above 0, at most 10000."))
        else:
            out["points_per_unit"] = rate.quantize(Decimal("0.01"))
    if "months" in data:
        months = data["months"]
        if not isinstance(months, int) or isinstance(months, bool) or not (
                0 <= months <= MAX_MONTHS):
            errors.add("months", _("Give a number of months from 0 (ever) to %(most)s.")
                       % {"most": MAX_MONTHS})
        else:
            out["months"] = months
    if "tiers" in data:
        out["tiers"] = _clean_tiers(data["tiers"], errors)
    return out


def _clean_tiers(raw, errors: Collector) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.add("tiers", _("Give at least one tier."))
        return []
    if len(raw) > MAX_TIERS:
        errors.add("tiers", _("Give at most %(most)s tiers.") % {"most": MAX_TIERS})
        return []
    tiers, names = [], set()
    for tier in raw:
        name = str(tier.get("name", "")).strip() if isinstance(tier, dict) else ""
        points = tier.get("points") if isinstance(tier, dict) else None
        if not name or len(name) > 60:
            errors.add("tiers", _("Every tier needs a name of at most 60 characters."))
            return []
        if not isinstance(points, int) or isinstance(points, bool) or points < 0:
            errors.add("tiers", _("The tier “%(name)s” needs a whole number of points, 0 or "
                                  "more.") % {"name": name})
            return []
        if name.casefold() in names:
            errors.add("tiers", _("Two tiers are called “%(name)s”.") % {"name": name})
            return []
        names.add(name.casefold())
        tiers.append({"name": name, "points": points})
    tiers.sort(key=lambda tier: tier["points"])
    if len({tier["points"] for tier in tiers}) != len(tiers):
        errors.add("tiers", _("Two tiers start at the same number of points."))
    if tiers[0]["points"] != 0:
        errors.add("tiers", _("The first tier starts at 0 points, so every customer has one."))
    return tiers


def update_program(org, actor, *, data: dict,
                   expected_version: int | None = None) -> LoyaltyProgram:
    """Change the programme (created on first save) and recompute every status.

    Raises InvalidInput naming each wrong field, StaleVersion when
    `expected_version` is not the stored one.
    """
    errors = Collector()
    values = _clean(data, errors)
    errors.raise_if_any()
    with transaction.atomic():
        created = not LoyaltyProgram.objects.exists()
        if created:
            LoyaltyProgram.objects.get_or_create(
                organization=org, defaults={"tiers": [dict(t) for t in DEFAULT_TIERS]})
        current = LoyaltyProgram.objects.select_for_update().get()
        # A first save is based on the unsaved defaults, which carry version 1 too.
        if expected_version is not None and int(expected_version) != current.version:
            raise StaleVersion(current_version=current.version)
        before = audit.snapshot(current, PROGRAM_FIELDS)
        for key, value in values.items():
            setattr(current, key, value)
        changes = audit.diff(before, audit.snapshot(current, PROGRAM_FIELDS))
        if changes or created:
            current.save_new_version()
            current.refresh_from_db()
            audit.record(org, actor, Action.UPDATE, current, entity="loyalty_program",
                         changes=changes)
    compute_loyalty(org)
    return current


def tier_for(tiers: list[dict], points: int) -> tuple[str, str, int]:
    """The tier `points` reach, the next one ("" at the top) and the points still needed."""
    reached, following = tiers[0], None
    for tier in tiers:
        if points >= tier["points"]:
            reached = tier
        elif following is None:
            following = tier
    if following is None:
        return reached["name"], "", 0
    return reached["name"], following["name"], following["points"] - points


def compute_loyalty(org) -> dict:
    """Recompute every customer's points and tier; with the programme off, remove them all."""
    program = LoyaltyProgram.objects.first()
    if program is None or not program.is_active or not program.tiers:
        removed, _ = LoyaltyStatus.objects.all().delete()
        return {"scored": 0, "removed": removed}
    since = (timezone.now() - dt.timedelta(days=round(30.44 * program.months))
             if program.months else None)
    now = timezone.now()
    statuses = []
    for contact_id, totals in customer_totals(org, since=since).items():
        points = max(0, math.floor(totals["spent"] * program.points_per_unit))
        tier, next_tier, to_next = tier_for(program.tiers, points)
        statuses.append(LoyaltyStatus(organization=org, contact_id=contact_id, points=points,
                                      tier=tier, next_tier=next_tier, points_to_next=to_next,
                                      computed_at=now))
    with transaction.atomic():
        LoyaltyStatus.objects.bulk_create(
            statuses, batch_size=BATCH, update_conflicts=True,
            unique_fields=["organization", "contact"],
            update_fields=["points", "tier", "next_tier", "points_to_next", "computed_at"])
        removed, _ = LoyaltyStatus.objects.filter(computed_at__lt=now).delete()
    logger.info("insights.loyalty_computed", extra={"organization_id": org.id,
                                                    "count": len(statuses), "removed": removed})
    return {"scored": len(statuses), "removed": removed}
