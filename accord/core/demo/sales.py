"""Writing the sales-opportunities data set into an organisation.

Products, companies, sales teams and the "New business" pipeline go through
the services one by one; there are few of them. The thousands of deals go
in bulk: each deal with its line item, its stage history (created, engaged,
won or lost on the data set's dates), its id in the data set, its audit
entry and its search text, in a few statements per table, because a
service call per deal made the demo take minutes instead of seconds.
"""

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accord import search
from accord.audit import services as audit
from accord.audit.context import current_channel
from accord.audit.models import Action, AuditEntry
from accord.commerce import services as commerce
from accord.commerce.models import Product
from accord.commerce.validation import sku_from_name
from accord.customers import bulk, custom_fields
from accord.customers import services as customers
from accord.customers.models import Company
from accord.identity import services as identity
from accord.identity.models import Membership
from accord.integrations.models import ExternalId
from accord.sales import services as sales
from accord.sales.models import Deal, DealStatus, LineItem, Pipeline, StageChange, StageKind
from accord.search import fold

from .sales_data import SalesData

logger = logging.getLogger(__name__)
User = get_user_model()

Progress = Callable[[str, int, int], None]

PIPELINE = "New business"
# About 63 % of the data set's closed deals were won; a deal still being
# prospected has not shown that it fits, so it weighs in lower.
STAGES = [
    {"name": "Prospecting", "probability": 20},
    {"name": "Engaging", "probability": 60},
    {"name": "Won", "probability": 100, "kind": StageKind.WON},
    {"name": "Lost", "probability": 0, "kind": StageKind.LOST},
]
LOST_REASON = "Lost (imported)"
CURRENCY = "USD"
ID_SYSTEM = "sales-opportunities"  # the deals' ids in the data set are kept under this name
MEMBER_DOMAIN = "demo.example.com"
MILLION = Decimal(1_000_000)  # the accounts' revenue is in millions of dollars
DAY_START = dt.time(9)  # the data set has days only; moves are put at nine, UTC
CHUNK = 2000  # deals per bulk write

SECTORS = {"technolgy": "technology"}  # the data set's spelling mistakes, corrected
COUNTRIES = {
    "United States": "US", "Belgium": "BE", "Brazil": "BR", "China": "CN", "Germany": "DE",
    "Italy": "IT", "Japan": "JP", "Jordan": "JO", "Kenya": "KE", "Korea": "KR",
    "Norway": "NO", "Panama": "PA", "Philipines": "PH", "Philippines": "PH", "Poland": "PL",
    "Romania": "RO",
}


@dataclass
class SalesReport:
    deals: int = 0
    companies: int = 0
    products: int = 0
    members: int = 0
    # Product names of the pipeline that differ from the catalogue's only in
    # spaces or case, with how many rows were matched despite it.
    product_fixes: Counter = field(default_factory=Counter)


def _quiet(step: str, done: int, total: int) -> None:
    return None


def product_key(name: str) -> str:
    """A product name without case, accents, spaces or punctuation: "NimbusPro" is "Nimbus Pro"."""
    return re.sub(r"[\W_]+", "", fold(name or ""))


def is_loaded() -> bool:
    """Whether the organisation in scope holds the data set already."""
    return Pipeline.objects.filter(name=PIPELINE).exists()


def load_sales(org, admin, data: SalesData, *, hashed_password: str,
               progress: Progress = _quiet) -> SalesReport:
    """Load `data` into `org`; call inside its scope, an audit channel and a transaction.

    Raises ValueError naming the row when an opportunity names an agent,
    product or account the other files do not have. The caller checks
    `is_loaded` first: a second load would add every deal again.
    """
    report = SalesReport()
    products = _load_products(org, admin, data, report)
    users = _load_teams(org, admin, data, hashed_password, report)
    companies = _load_accounts(org, admin, data, users, report)
    pipeline = sales.create_pipeline(org, admin, name=PIPELINE, stages=STAGES)
    _load_opportunities(org, admin, data, pipeline, products, companies, users, report,
                        progress)
    logger.info("demo.sales_loaded", extra={
        "organization_id": org.id, "deals": report.deals,
        "product_fixes": sum(report.product_fixes.values())})
    return report


def _load_products(org, admin, data: SalesData, report: SalesReport) -> dict[str, Product]:
    """The catalogue by product key; a product whose SKU exists already is kept as it is."""
    found = {}
    for row in data.products:
        sku = sku_from_name(row["product"])
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            product = commerce.create_product(org, admin, data={
                "sku": sku, "name": row["product"], "category": row["series"],
                "unit_price": row["sales_price"], "currency": CURRENCY})
            report.products += 1
        found[product_key(row["product"])] = product
    return found


def _load_accounts(org, admin, data: SalesData, users: dict,
                   report: SalesReport) -> dict[str, Company]:
    """Companies by account name, parents before their subsidiaries.

    An account named like a company the organisation has is that company.
    A new one is owned by the agent with the most deals with it.
    """
    existing = {fold(company.name): company for company in Company.objects.all()}
    deals_per_agent = Counter((row["account"], row["sales_agent"])
                              for row in data.opportunities if row["account"])
    owners = {}
    for (account, agent), _ in deals_per_agent.most_common():
        owners.setdefault(account, users.get(agent))
    has_year = any(custom.key == "year_established"
                   for custom in custom_fields.active_fields("company"))
    pending = list(data.accounts)
    found: dict[str, Company] = {}
    while pending:
        ready = [row for row in pending if not row["subsidiary_of"]
                 or row["subsidiary_of"] in found]
        if not ready:
            names = ", ".join(row["account"] for row in pending)
            raise ValueError(f"The parents of these accounts are missing: {names}.")
        for row in ready:
            company = existing.get(fold(row["account"]))
            if company is None:
                owner = owners.get(row["account"]) or admin
                company = _create_company(org, admin, row, owner, found, has_year)
                report.companies += 1
            found[row["account"]] = company
        pending = [row for row in pending if row["account"] not in found]
    return found


def _create_company(org, admin, row: dict, owner, found: dict, has_year: bool) -> Company:
    sector = row["sector"].lower()
    data = {
        "name": row["account"], "industry": SECTORS.get(sector, sector).capitalize(),
        "owner": owner,
        "employees": row["employees"] or None, "currency": CURRENCY,
        "annual_revenue": (Decimal(row["revenue"]) * MILLION if row["revenue"] else None),
        "country": COUNTRIES.get(row["office_location"], ""),
    }
    if row["subsidiary_of"]:
        data["parent"] = found[row["subsidiary_of"]]
    if has_year and row["year_established"]:
        data["custom_fields"] = {"year_established": row["year_established"]}
    return customers.create_company(org, admin, data=data)


def _load_teams(org, admin, data: SalesData, hashed: str, report: SalesReport) -> dict:
    """Each manager a manager leading a team of their own, each agent a salesperson in it.

    The team is named after the regional office and the manager, so the
    region is seen wherever the team is.
    """
    users: dict[str, object] = {}
    teams = {}
    for row in data.teams:
        manager = row["manager"]
        if manager not in teams:
            teams[manager] = identity.save_team(
                org, admin, name=f"{row['regional_office']} – {manager}")
            users[manager] = _member(org, admin, manager, "manager", teams[manager], hashed,
                                     report)
            identity.save_team(org, admin, name=teams[manager].name, lead=users[manager],
                               team=teams[manager])
        users[row["sales_agent"]] = _member(org, admin, row["sales_agent"], "sales",
                                            teams[manager], hashed, report)
    return users


def _member(org, admin, full_name: str, role: str, team, hashed: str, report: SalesReport):
    """The member of this name, invited and accepted; an existing member stays as they are."""
    email = f"{'.'.join(full_name.lower().split())}@{MEMBER_DOMAIN}"
    user = User.objects.filter(email=email).first()
    if user is not None and Membership.objects.filter(user=user).exists():
        return user
    if user is None:
        user = User.objects.create(email=email, full_name=full_name, password=hashed)
    invitation = identity.invite_member(org, admin, email=email, role=role, team=team,
                                        accept_url_template="/invitations/{token}")
    identity.accept_invitation(invitation, user=user)
    report.members += 1
    return user


def _at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), DAY_START, tzinfo=dt.UTC)


def _load_opportunities(org, admin, data: SalesData, pipeline, products: dict,
                        companies: dict, users: dict, report: SalesReport,
                        progress: Progress) -> None:
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    # Deals still being prospected have no date in the data set; they are
    # placed on its last day, when they were last seen in that stage.
    last_seen = _at(data.last_day().isoformat())
    total = len(data.opportunities)
    for start in range(0, total, CHUNK):
        rows = data.opportunities[start:start + CHUNK]
        deals, plans = [], []
        for number, row in enumerate(rows, start=start + 2):  # the header is line 1
            deal, plan = _deal(org, row, number, stages, products, companies, users,
                               last_seen, report)
            deals.append(deal)
            plans.append(plan)
        _write_deals(org, admin, deals, plans)
        report.deals += len(deals)
        progress("deals", report.deals, total)


def _deal(org, row: dict, number: int, stages: dict, products: dict, companies: dict,
          users: dict, last_seen: dt.datetime, report: SalesReport):
    """An unsaved deal for one opportunity, with what hangs off it as plain values."""
    product = products.get(product_key(row["product"]))
    if product is None:
        raise ValueError(f"Line {number} of the pipeline names the product "
                         f"{row['product']!r}, which is not in the catalogue.")
    if product.name != row["product"]:
        report.product_fixes[row["product"]] += 1
    owner = users.get(row["sales_agent"])
    if owner is None:
        raise ValueError(f"Line {number} of the pipeline names the agent "
                         f"{row['sales_agent']!r}, who is in no sales team.")
    company = companies.get(row["account"]) if row["account"] else None
    if row["account"] and company is None:
        raise ValueError(f"Line {number} of the pipeline names the account "
                         f"{row['account']!r}, which is not in the accounts.")
    stage = stages.get(row["deal_stage"])
    if stage is None:
        raise ValueError(f"Line {number} of the pipeline has the stage "
                         f"{row['deal_stage']!r}; the stages are {', '.join(stages)}.")

    # Won deals are at the price they closed at; open and lost ones at the
    # list price, which is what was (or still is) at stake.
    price = (Decimal(row["close_value"]) if stage.kind == StageKind.WON
             else product.unit_price)
    moves = [(None, stages["Prospecting"],
              _at(row["engage_date"]) if row["engage_date"] else last_seen)]
    if row["engage_date"]:
        moves.append((stages["Prospecting"], stages["Engaging"], _at(row["engage_date"])))
    if row["close_date"]:
        moves.append((stages["Engaging"], stage, _at(row["close_date"])))
    entered = moves[-1][2]
    status = {StageKind.WON: DealStatus.WON, StageKind.LOST: DealStatus.LOST}.get(
        stage.kind, DealStatus.OPEN)
    name = (f"{row['account']} – {product.name}" if company
            else f"{product.name} ({row['opportunity_id']})")
    deal = Deal(
        organization=org, name=name, pipeline=stage.pipeline, stage=stage, status=status,
        amount=price, currency=CURRENCY, owner=owner, company=company,
        stage_entered_at=entered, last_activity_at=entered,
        expected_close_date=dt.date.fromisoformat(row["close_date"]) if row["close_date"]
        else None,
        closed_on=dt.date.fromisoformat(row["close_date"]) if row["close_date"] else None,
        close_reason=LOST_REASON if stage.kind == StageKind.LOST else "",
        custom_fields={},
    )
    return deal, {"product": product, "price": price, "moves": moves,
                  "external_id": row["opportunity_id"]}


def _write_deals(org, admin, deals: list[Deal], plans: list[dict]) -> None:
    """The deals and, per deal, its line, its moves, its id, its audit entry and search text."""
    now = timezone.now()
    bulk.save_new(Deal, deals, now=now)

    def db(model, name, value):
        return model._meta.get_field(name).get_db_prep_save(value, connection)

    lines, moves, ids = [], [], []
    for deal, plan in zip(deals, plans, strict=True):
        product = plan["product"]
        lines.append((org.pk, deal.pk, product.pk, product.name,
                      db(LineItem, "quantity", Decimal(1)),
                      db(LineItem, "unit_price", plan["price"]), 0))
        previous = None
        for from_stage, to_stage, at in plan["moves"]:
            seconds = int((at - previous).total_seconds()) if previous else None
            reason = LOST_REASON if to_stage.kind == StageKind.LOST else ""
            moves.append((org.pk, deal.pk, from_stage.pk if from_stage else None, to_stage.pk,
                          db(StageChange, "changed_at", at), deal.owner_id, seconds,
                          db(StageChange, "amount", deal.amount), deal.currency, reason))
            previous = at
        ids.append((org.pk, "deal", deal.pk, ID_SYSTEM, plan["external_id"]))
    bulk.insert_rows(LineItem, ("organization_id", "deal_id", "product_id", "name",
                                "quantity", "unit_price", "position"), lines, now=now)
    bulk.insert_rows(StageChange, ("organization_id", "deal_id", "from_stage_id",
                                   "to_stage_id", "changed_at", "changed_by_id",
                                   "seconds_in_from_stage", "amount", "currency", "reason"),
                     moves, now=now)
    bulk.insert_rows(ExternalId, ("organization_id", "entity", "record_id", "system", "value"),
                     ids, now=now)
    _write_audit(org, admin, deals, now)
    search.index(Deal, deals)


def _write_audit(org, admin, deals: list[Deal], now) -> None:
    """One "create" entry per deal, as `create_deal` writes it."""
    via, ip = current_channel()
    label = (admin.email if admin else via)[:254]
    changes = AuditEntry._meta.get_field("changes")
    bulk.insert_rows(
        AuditEntry, ("organization_id", "actor_id", "actor_label", "via", "ip", "action",
                     "entity", "object_id", "object_repr", "changes"),
        [(org.pk, admin.pk, label, via, ip, Action.CREATE, "deal", deal.pk, str(deal)[:200],
          changes.get_db_prep_save(
              audit.diff({}, audit.snapshot(deal, sales.DEAL_FIELDS)), connection))
         for deal in deals], now=now)
