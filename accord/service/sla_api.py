"""SLA policies and business calendars under `/api/v1/`.

Reading needs `tickets.view`, writing `service.manage`. Every write goes
through `accord.service.sla_settings`, so the API refuses what the settings
pages refuse, leaves the same audit entries and moves the same due times.
"""

import datetime as dt

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import sla_settings
from .models import BusinessCalendar, SlaPolicy
from .schemas import InputSchema, to_service_data

sla_policies = Router(tags=["SLA"])
business_calendars = Router(tags=["SLA"])

POLICY_ORDERINGS = {"position": "position", "name": Lower("name"), "created_at": "created_at"}
CALENDAR_ORDERINGS = {"name": Lower("name"), "created_at": "created_at"}
HOURS_HELP = ('Working hours per weekday, "0" being Monday: {"0": [["09:00", "17:00"]]}; '
              '"24:00" may end an interval. Replaces all hours when given.')


class SlaFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = None
    ordering: str | None = None
    q: str | None = Field(None, description="Words in the name.")


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    hours: dict[str, list[list[str]]]
    holidays: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class CalendarPage(Schema):
    items: list[CalendarOut]
    next: str | None


class CalendarIn(InputSchema):
    name: str
    time_zone: str = Field(description="An IANA time zone name, such as Europe/Berlin.")
    hours: dict = Field(default_factory=dict, description=HOURS_HELP)
    holidays: list = Field(default_factory=list, description="Dates as YYYY-MM-DD.")


class CalendarPatch(InputSchema):
    name: str | None = None
    time_zone: str | None = None
    hours: dict | None = Field(None, description=HOURS_HELP)
    holidays: list | None = Field(None, description="Dates as YYYY-MM-DD; replaces the list.")
    version: int = Field(description="The version the change is based on.")


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    priorities: list[str]
    queue_id: int | None
    customer_tier: str
    first_response_minutes: int | None
    resolution_minutes: int | None
    warn_before_minutes: int
    calendar_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class PolicyPage(Schema):
    items: list[PolicyOut]
    next: str | None


class PolicyIn(InputSchema):
    name: str
    position: int = 0
    is_active: bool = True
    priorities: list[str] = Field(default_factory=list,
                                  description="Priorities it applies to; empty for any.")
    queue_id: int | None = Field(None, description="The queue it applies to; null for any.")
    customer_tier: str = Field("", description="A tag on the contact or company; empty for "
                               "every customer.")
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_before_minutes: int = 60
    calendar_id: int | None = Field(None, description="Business hours; null for round the "
                                    "clock.")


class PolicyPatch(InputSchema):
    name: str | None = None
    position: int | None = None
    is_active: bool | None = None
    priorities: list[str] | None = None
    queue_id: int | None = None
    customer_tier: str | None = None
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_before_minutes: int | None = None
    calendar_id: int | None = None
    version: int = Field(description="The version the change is based on.")


def _data(payload: Schema) -> dict:
    data = to_service_data(payload)
    if "calendar_id" in data:
        data["calendar"] = data.pop("calendar_id")
    return data


def _page(queryset, ordering, params) -> dict:
    for word in (params.q or "").split():
        queryset = queryset.filter(name__icontains=word)
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


# Policies


@sla_policies.get("", response=PolicyPage, summary="List SLA policies in the order they apply")
def list_policies(request: HttpRequest, params: Query[SlaFilters]):
    allow(request, "tickets.view")
    ordering = parse_ordering(params.ordering, POLICY_ORDERINGS, "position")
    return _page(SlaPolicy.objects.all(), ordering, params)


@sla_policies.post("", response={201: PolicyOut}, summary="Add an SLA policy")
def create_policy(request: HttpRequest, payload: PolicyIn):
    allow(request, "service.manage")
    policy = sla_settings.create_policy(request.organization, request.user,
                                        data=_data(payload))
    return Status(201, sla_settings.get_policy(policy.pk))


@sla_policies.get("/{policy_id}", response=PolicyOut, summary="Read an SLA policy")
def read_policy(request: HttpRequest, policy_id: int):
    allow(request, "tickets.view")
    return sla_settings.get_policy(policy_id)


@sla_policies.patch("/{policy_id}", response=PolicyOut,
                    summary="Change an SLA policy; its open tickets get new due times")
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyPatch):
    allow(request, "service.manage")
    policy = sla_settings.get_policy(policy_id)
    sla_settings.update_policy(request.organization, request.user, policy,
                               data=_data(payload), expected_version=payload.version)
    return sla_settings.get_policy(policy_id)


@sla_policies.delete("/{policy_id}", response={204: None}, summary="Delete an SLA policy")
def delete_policy(request: HttpRequest, policy_id: int, version: int | None = None):
    allow(request, "service.manage")
    policy = sla_settings.get_policy(policy_id)
    sla_settings.delete_policy(request.organization, request.user, policy,
                               expected_version=version)
    return Status(204, None)


# Business calendars


@business_calendars.get("", response=CalendarPage, summary="List business calendars")
def list_calendars(request: HttpRequest, params: Query[SlaFilters]):
    allow(request, "tickets.view")
    ordering = parse_ordering(params.ordering, CALENDAR_ORDERINGS, "name")
    return _page(BusinessCalendar.objects.all(), ordering, params)


@business_calendars.post("", response={201: CalendarOut}, summary="Add a business calendar")
def create_calendar(request: HttpRequest, payload: CalendarIn):
    allow(request, "service.manage")
    calendar = sla_settings.create_calendar(request.organization, request.user,
                                            data=_data(payload))
    return Status(201, sla_settings.get_calendar(calendar.pk))


@business_calendars.get("/{calendar_id}", response=CalendarOut,
                        summary="Read a business calendar")
def read_calendar(request: HttpRequest, calendar_id: int):
    allow(request, "tickets.view")
    return sla_settings.get_calendar(calendar_id)


@business_calendars.patch("/{calendar_id}", response=CalendarOut,
                          summary="Change a business calendar; open tickets get new due times")
def update_calendar(request: HttpRequest, calendar_id: int, payload: CalendarPatch):
    allow(request, "service.manage")
    calendar = sla_settings.get_calendar(calendar_id)
    sla_settings.update_calendar(request.organization, request.user, calendar,
                                 data=_data(payload), expected_version=payload.version)
    return sla_settings.get_calendar(calendar_id)


@business_calendars.delete("/{calendar_id}", response={204: None},
                           summary="Delete a business calendar")
def delete_calendar(request: HttpRequest, calendar_id: int, version: int | None = None):
    allow(request, "service.manage")
    calendar = sla_settings.get_calendar(calendar_id)
    sla_settings.delete_calendar(request.organization, request.user, calendar,
                                 expected_version=version)
    return Status(204, None)
