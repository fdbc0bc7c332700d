"""Which orders and subscriptions a list shows: the filters the pages and the API share."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from accord.customers.models import Company
from accord.customers.validation import Collector
from accord.identity.visibility import narrows, visible

from .models import Channel, OrderKind, OrderStatus, SubscriptionStatus


def _moment(value, field: str, errors: Collector, *, end_of_day: bool = False):
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value).strip()
        # A bare date is read as a day first: parse_datetime would take it
        # as that day's midnight and lose "the whole day" for the end.
        try:
            day = parse_date(text) if len(text) == 10 else None
            moment = None if day else parse_datetime(text)
        except ValueError:
            moment = day = None
        if moment is None:
            if day is None:
                errors.add(field, _("Enter a date such as 2025-03-01, or a date and time."))
                return None
            if end_of_day:
                day += dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time(0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _ids(value, field: str, errors: Collector) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        errors.add(field, _("Give the id as a whole number."))
        return None


def _choices(params, name: str, choices, errors: Collector) -> list[str]:
    value = str(params.get(name) or "").strip()
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    if any(part not in choices.values for part in wanted):
        errors.add(name, _("Choose from: %(values)s.") % {"values": ", ".join(choices.values)})
        return []
    return wanted


def _company_seen(viewer) -> Q:
    """Rows whose company the reader sees: a hidden company's name or id matches nothing,
    as a company that does not exist."""
    if not narrows(viewer, "companies"):
        return Q()
    return Q(company__in=visible(Company.objects.all(), viewer, "companies").values("pk"))


def _by_customer(queryset: QuerySet, params, viewer, errors: Collector) -> QuerySet:
    for name in ("contact_id", "company_id"):
        if params.get(name) not in (None, ""):
            queryset = queryset.filter(**{name: _ids(params.get(name), name, errors)})
            if name == "company_id":
                queryset = queryset.filter(_company_seen(viewer))
    return queryset


def order_filters(queryset: QuerySet, params, viewer) -> QuerySet:
    """Narrow `queryset` by the query parameters; InvalidInput names each bad one.

    `q` matches the beginning of the order number, or a word of the
    customer's name, e-mail or company (one `viewer` sees); `placed_before`
    with a bare date includes that whole day.
    """
    errors = Collector()
    company_seen = _company_seen(viewer)
    for word in str(params.get("q") or "").split():
        queryset = queryset.filter(
            Q(number__istartswith=word) | Q(contact__first_name__istartswith=word)
            | Q(contact__last_name__istartswith=word) | Q(contact__email__istartswith=word)
            | (Q(company__name__icontains=word) & company_seen))
    for name, choices in (("status", OrderStatus), ("channel", Channel), ("kind", OrderKind)):
        wanted = _choices(params, name, choices, errors)
        if wanted:
            queryset = queryset.filter(**{f"{name}__in": wanted})
    queryset = _by_customer(queryset, params, viewer, errors)
    after = _moment(params.get("placed_after"), "placed_after", errors)
    before = _moment(params.get("placed_before"), "placed_before", errors, end_of_day=True)
    if after:
        queryset = queryset.filter(placed_at__gte=after)
    if before:
        queryset = queryset.filter(placed_at__lt=before)
    errors.raise_if_any()
    return queryset


def subscription_filters(queryset: QuerySet, params, viewer) -> QuerySet:
    """Narrow subscriptions by `q` (plan or customer), status, customer and renewal dates."""
    errors = Collector()
    company_seen = _company_seen(viewer)
    for word in str(params.get("q") or "").split():
        queryset = queryset.filter(
            Q(plan_name__icontains=word) | Q(contact__first_name__istartswith=word)
            | Q(contact__last_name__istartswith=word)
            | (Q(company__name__icontains=word) & company_seen))
    wanted = _choices(params, "status", SubscriptionStatus, errors)
    if wanted:
        queryset = queryset.filter(status__in=wanted)
    queryset = _by_customer(queryset, params, viewer, errors)
    for name, lookup in (("renews_after", "renews_on__gte"), ("renews_before", "renews_on__lt")):
        value = params.get(name)
        if value in (None, ""):
            continue
        try:
            day = value if isinstance(value, dt.date) else parse_date(str(value).strip())
        except ValueError:
            day = None
        if day is None:
            errors.add(name, _("Enter a date such as 2025-03-01."))
        else:
            queryset = queryset.filter(**{lookup: day})
    errors.raise_if_any()
    return queryset
