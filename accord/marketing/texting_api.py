"""A contact's text messages under `/api/v1/contacts/{id}/texts`: send one, list them."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accord.customers import services as customers
from accord.identity import scopes
from accord.identity.api_auth import allow
from accord.identity.visibility import require_visible
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import texting
from .models import TextMessage
from .schemas import InputSchema

router = Router(tags=["text messages"])


class TextOut(Schema):
    id: int
    contact_id: int
    to: str = Field(description="The number it went to, in E.164.")
    body: str
    status: str = Field(description="`sent`; `failed` when the provider refused it; or "
                        "`sending` when its answer never came: the message may have gone "
                        "and is not sent again (`error` says why).")
    provider_id: str
    error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    updated_at: dt.datetime = Field(description="When it was sent, or else created.")
    version: int = Field(description="Always 1: a text is never changed.")

    @staticmethod
    def resolve_updated_at(message) -> dt.datetime:
        return message.sent_at or message.created_at

    @staticmethod
    def resolve_version(message) -> int:
        return 1


class TextPage(Schema):
    items: list[TextOut]
    next: str | None


class TextIn(InputSchema):
    body: str = Field(description="Up to 1,600 characters.")
    marketing: bool = Field(False, description="A marketing text: needs the contact's SMS "
                            "marketing consent and the campaigns permission.")


class TextFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")


def _contact(request, contact_id):
    allow(request, "contacts.view")
    return require_visible(request.membership, customers.get_contact(contact_id), "contacts")


@router.get("/contacts/{contact_id}/texts", response=TextPage,
            summary="List the text messages sent to a contact, newest first")
def list_texts(request: HttpRequest, contact_id: int, filters: Query[TextFilters]):
    contact = _contact(request, contact_id)
    ordering = parse_ordering(None, {"created_at": "created_at"}, "-created_at")
    items, next_cursor = paginate(TextMessage.objects.filter(contact=contact),
                                  ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@router.post("/contacts/{contact_id}/texts", response={201: TextOut},
             summary="Send a text message to a contact",
             description="Goes to the contact's mobile number (else its primary one) through "
                         "the provider of SMS_URL. 422 names why it cannot go: no number, "
                         "do not contact, no SMS marketing consent, or the provider's refusal.")
def send_text(request: HttpRequest, contact_id: int, payload: TextIn):
    contact = _contact(request, contact_id)
    allow(request, "activities.add")
    if payload.marketing:
        allow(request, "campaigns.manage")
        token = getattr(request, "api_token", None)
        if token is not None and not scopes.allows(token.scopes, "campaigns:write"):
            raise scopes.ScopeMissing("campaigns:write")
    message = texting.send_text(request.organization, request.user, contact, payload.body,
                                marketing=payload.marketing)
    return Status(201, message)
