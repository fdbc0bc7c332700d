"""E-mail templates under `/api/v1/templates` and campaigns under `/api/v1/campaigns`."""

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord.customers import services as customer_services
from accord.errors import InvalidInput, input_names
from accord.identity.api_auth import allow
from accord.identity.models import Area
from accord.identity.visibility import require_visible
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import campaigns as services
from . import reports
from .campaign_schemas import (
    CampaignFilters,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignReport,
    ListFilters,
    PreviewOut,
    SuppressionFilters,
    SuppressionIn,
    SuppressionOut,
    SuppressionPage,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatch,
)
from .models import Campaign, CampaignStatus, EmailTemplate, SuppressedAddress, SuppressionReason

templates = Router(tags=["e-mail templates"])
campaigns = Router(tags=["campaigns"])
suppressions = Router(tags=["suppression list"])

ORDERINGS = {"name": Lower("name"), "created_at": "created_at", "updated_at": "updated_at"}
INPUT_NAMES = {"template": "template_id", "segment": "segment_id"}


def _named(rows, q: str | None):
    for word in (q or "").split():
        rows = rows.filter(name__icontains=word)
    return rows


def _data(payload) -> dict:
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for field in ("template", "segment"):
        if f"{field}_id" in data:
            data[field] = data.pop(f"{field}_id")
    return data


@templates.get("", response=TemplatePage, summary="List e-mail templates")
def list_templates(request: HttpRequest, filters: Query[ListFilters]):
    allow(request, "campaigns.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "name")
    items, next_cursor = paginate(_named(EmailTemplate.objects.all(), filters.q), ordering,
                                  cursor=filters.cursor, limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@templates.post("", response={201: TemplateOut}, summary="Save an e-mail template")
def create_template(request: HttpRequest, payload: TemplateIn):
    allow(request, "campaigns.manage")
    template = services.create_template(request.organization, request.user,
                                        data=_data(payload))
    return Status(201, template)


@templates.get("/{template_id}", response=TemplateOut, summary="Read an e-mail template")
def read_template(request: HttpRequest, template_id: int):
    allow(request, "campaigns.view")
    return services.get_template(template_id)


@templates.patch("/{template_id}", response=TemplateOut, summary="Change an e-mail template")
def update_template(request: HttpRequest, template_id: int, payload: TemplatePatch):
    allow(request, "campaigns.manage")
    return services.update_template(request.organization, request.user,
                                    services.get_template(template_id), data=_data(payload),
                                    expected_version=payload.version)


@templates.delete("/{template_id}", response={204: None}, summary="Delete an e-mail template")
def delete_template(request: HttpRequest, template_id: int, version: int | None = None):
    allow(request, "campaigns.manage")
    services.delete_template(request.organization, request.user,
                             services.get_template(template_id), expected_version=version)
    return Status(204, None)


@templates.get("/{template_id}/preview", response=PreviewOut,
               summary="The template filled in for a contact")
def preview_template(request: HttpRequest, template_id: int, contact_id: int | None = None):
    allow(request, "campaigns.view")
    template = services.get_template(template_id)
    contact = None
    if contact_id is not None:
        allow(request, "contacts.view")
        contact = require_visible(request.membership,
                                  customer_services.get_contact(contact_id), Area.CONTACTS)
    subject, html, text = services.preview(request.organization, template, contact,
                                           request.membership)
    return {"subject": subject, "html": html, "text": text}


@campaigns.get("", response=CampaignPage, summary="List campaigns")
def list_campaigns(request: HttpRequest, filters: Query[CampaignFilters]):
    allow(request, "campaigns.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "-created_at")
    rows = _named(Campaign.objects.all(), filters.q)
    if filters.status:
        if filters.status not in CampaignStatus.values:
            raise InvalidInput({"status": "Choose draft, scheduled, sending, sent or "
                                          "cancelled."})
        rows = rows.filter(status=filters.status)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@campaigns.post("", response={201: CampaignOut}, summary="Save a campaign")
def create_campaign(request: HttpRequest, payload: CampaignIn):
    allow(request, "campaigns.manage")
    with input_names(INPUT_NAMES):
        campaign = services.create_campaign(request.organization, request.user,
                                            data=_data(payload))
    return Status(201, campaign)


@campaigns.get("/{campaign_id}", response=CampaignOut, summary="Read a campaign")
def read_campaign(request: HttpRequest, campaign_id: int):
    allow(request, "campaigns.view")
    return services.get_campaign(campaign_id)


@campaigns.patch("/{campaign_id}", response=CampaignOut,
                 summary="Change, schedule or unschedule a campaign that has not started")
def update_campaign(request: HttpRequest, campaign_id: int, payload: CampaignPatch):
    allow(request, "campaigns.manage")
    with input_names(INPUT_NAMES):
        return services.update_campaign(request.organization, request.user,
                                        services.get_campaign(campaign_id), data=_data(payload),
                                        expected_version=payload.version)


@campaigns.post("/{campaign_id}/start", response=CampaignOut,
                summary="Choose the recipients now and start sending")
def start_campaign(request: HttpRequest, campaign_id: int, version: int | None = None):
    allow(request, "campaigns.manage")
    with input_names(INPUT_NAMES):
        return services.start_campaign(request.organization, request.user,
                                       services.get_campaign(campaign_id),
                                       expected_version=version)


@campaigns.post("/{campaign_id}/cancel", response=CampaignOut,
                summary="Stop a campaign; nothing more is sent")
def cancel_campaign(request: HttpRequest, campaign_id: int, version: int | None = None):
    allow(request, "campaigns.manage")
    return services.cancel_campaign(request.organization, request.user,
                                    services.get_campaign(campaign_id), expected_version=version)


@campaigns.delete("/{campaign_id}", response={204: None},
                  summary="Delete a campaign that has sent nothing")
def delete_campaign(request: HttpRequest, campaign_id: int, version: int | None = None):
    allow(request, "campaigns.manage")
    services.delete_campaign(request.organization, request.user,
                             services.get_campaign(campaign_id), expected_version=version)
    return Status(204, None)


@campaigns.get("/{campaign_id}/report", response=CampaignReport,
               summary="Who was sent to, left out, opened, clicked and unsubscribed")
def campaign_report(request: HttpRequest, campaign_id: int):
    allow(request, "campaigns.view")
    return reports.report(services.get_campaign(campaign_id), request.membership)


SUPPRESSION_ORDERINGS = {"address": "address", "created_at": "created_at"}


@suppressions.get("", response=SuppressionPage, summary="List the suppressed addresses")
def list_suppressions(request: HttpRequest, filters: Query[SuppressionFilters]):
    allow(request, "campaigns.manage")
    ordering = parse_ordering(filters.ordering, SUPPRESSION_ORDERINGS, "address")
    rows = SuppressedAddress.objects.all()
    if filters.q:
        rows = rows.filter(address__icontains=filters.q.strip())
    if filters.reason:
        if filters.reason not in SuppressionReason.values:
            raise InvalidInput({"reason": "Choose manual, unsubscribed, bounced or complaint."})
        rows = rows.filter(reason=filters.reason)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@suppressions.post("", response={200: SuppressionOut, 201: SuppressionOut},
                   summary="Put an address on the suppression list",
                   description="Answers 201 with the new entry, or 200 with the entry that "
                               "was there already.")
def add_suppression(request: HttpRequest, payload: SuppressionIn):
    allow(request, "campaigns.manage")
    known = SuppressedAddress.objects.filter(
        address=payload.address.strip().lower()).first()
    if known is not None:
        return Status(200, known)
    entry = services.suppress_address(request.organization, request.user, payload.address,
                                      reason=payload.reason, note=payload.note)
    return Status(201, entry)


@suppressions.get("/{suppression_id}", response=SuppressionOut,
                  summary="Read a suppressed address")
def read_suppression(request: HttpRequest, suppression_id: int):
    allow(request, "campaigns.manage")
    return services.get_suppression(suppression_id)


@suppressions.delete("/{suppression_id}", response={204: None},
                     summary="Take an address off the suppression list",
                     description="Campaigns started afterwards may send to it again, if the "
                                 "contact's consent allows.")
def remove_suppression(request: HttpRequest, suppression_id: int):
    allow(request, "campaigns.manage")
    services.unsuppress_address(request.organization, request.user,
                                services.get_suppression(suppression_id))
    return Status(204, None)
