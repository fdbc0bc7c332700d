"""Relationships of a contact under `/api/v1/contacts/{contact_id}/relationships`, and the
roles they may take under `/api/v1/relationship-roles`."""

from django.http import HttpRequest
from ninja import Router, Status

from accord.customers import services as customers
from accord.identity.api_auth import allow
from accord.identity.visibility import require_visible

from . import services
from .models import BUILTIN_ROLES, Relationship
from .schemas import (
    RelationshipIn,
    RelationshipOut,
    RelationshipPage,
    RelationshipPatch,
    RelationshipRolePage,
)

router = Router(tags=["relationships"])


def _contact(request, contact_id):
    return require_visible(request.membership, customers.get_contact(contact_id), "contacts")


def _out(relationship: Relationship, contact, known: dict) -> dict:
    return {
        "id": relationship.pk, "contact_id": relationship.contact_id,
        "related_id": relationship.related_id, "role": relationship.role,
        "other_id": services.other_side(relationship, contact).pk,
        "label": services.label_for(relationship, contact, known),
        "started_on": relationship.started_on, "ended_on": relationship.ended_on,
        "note": relationship.note, "created_at": relationship.created_at,
        "updated_at": relationship.updated_at, "version": relationship.version,
    }


@router.get("/contacts/{contact_id}/relationships", response=RelationshipPage,
            summary="List a contact's relationships")
def list_relationships(request: HttpRequest, contact_id: int):
    allow(request, "contacts.view")
    contact = _contact(request, contact_id)
    known = services.roles()
    return {"items": [_out(item, contact, known) for item in
                      services.visible_relationships(request.membership, contact)],
            "next": None}


@router.post("/contacts/{contact_id}/relationships", response={201: RelationshipOut},
             summary="Relate another contact to this one")
def add_relationship(request: HttpRequest, contact_id: int, payload: RelationshipIn):
    allow(request, "contacts.change")
    contact = _contact(request, contact_id)
    data = payload.dict()
    data["related"] = data.pop("related_id")
    relationship = services.add_relationship(request.organization, request.user,
                                             request.membership, contact, data=data)
    return Status(201, _out(relationship, contact, services.roles()))


@router.get("/contacts/{contact_id}/relationships/{relationship_id}",
            response=RelationshipOut, summary="Read a relationship")
def read_relationship(request: HttpRequest, contact_id: int, relationship_id: int):
    allow(request, "contacts.view")
    contact = _contact(request, contact_id)
    relationship = services.get_relationship(request.membership, contact, relationship_id)
    return _out(relationship, contact, services.roles())


@router.patch("/contacts/{contact_id}/relationships/{relationship_id}",
              response=RelationshipOut, summary="Change or end a relationship")
def update_relationship(request: HttpRequest, contact_id: int, relationship_id: int,
                        payload: RelationshipPatch):
    allow(request, "contacts.change")
    contact = _contact(request, contact_id)
    relationship = services.get_relationship(request.membership, contact, relationship_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    relationship = services.update_relationship(request.organization, request.user,
                                                request.membership, relationship, data=data,
                                                expected_version=version)
    return _out(relationship, contact, services.roles())


@router.delete("/contacts/{contact_id}/relationships/{relationship_id}",
               response={204: None}, summary="Delete a relationship entered by mistake")
def delete_relationship(request: HttpRequest, contact_id: int, relationship_id: int):
    allow(request, "contacts.change")
    contact = _contact(request, contact_id)
    relationship = services.get_relationship(request.membership, contact, relationship_id)
    services.delete_relationship(request.organization, request.user, relationship)
    return Status(204, None)


@router.get("/relationship-roles", response=RelationshipRolePage,
            summary="List relationship roles")
def list_roles(request: HttpRequest):
    allow(request, "contacts.view")
    return {"items": [{"key": key, "label": label, "inverse_label": inverse,
                       "builtin": key in BUILTIN_ROLES}
                      for key, (label, inverse) in services.roles().items()],
            "next": None}
