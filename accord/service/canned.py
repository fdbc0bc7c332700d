"""Writes to canned replies: prepared answers with merge fields."""

from django.db import transaction

from accord import merge_fields
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector, clean_text
from accord.errors import InvalidInput, StaleVersion

from .models import CannedReply
from .validation import clean_body

CANNED_FIELDS = ["name", "body", "is_active"]


def clean_canned(data: dict, *, current: CannedReply | None = None) -> dict:
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = clean_text(data.get("name"), "name", errors)
        if name == "":
            errors.add("name", "Give the reply a name.", "required")
        elif name and CannedReply.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another canned reply already has this name.", "duplicate")
        out["name"] = name
    if "body" in data or current is None:
        body = clean_body(data.get("body"), "body", errors, required=True)
        if body:
            try:
                merge_fields.check(body, "body")
            except InvalidInput as exc:
                errors.absorb(exc)
        out["body"] = body
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    errors.raise_if_any()
    return out


@transaction.atomic
def create_canned(org, actor, *, data: dict) -> CannedReply:
    canned = CannedReply.objects.create(organization=org, **clean_canned(data))
    audit.record(org, actor, Action.CREATE, canned,
                 changes=audit.diff({}, audit.snapshot(canned, CANNED_FIELDS)))
    return canned


@transaction.atomic
def update_canned(org, actor, canned: CannedReply, *, data: dict,
                  expected_version: int | None = None) -> CannedReply:
    canned = CannedReply.objects.select_for_update().get(pk=canned.pk)
    if expected_version is not None and int(expected_version) != canned.version:
        raise StaleVersion(current_version=canned.version)
    values = clean_canned(data, current=canned)
    before = audit.snapshot(canned, CANNED_FIELDS)
    for name, value in values.items():
        setattr(canned, name, value)
    changes = audit.diff(before, audit.snapshot(canned, CANNED_FIELDS))
    if changes:
        canned.save_new_version()
        audit.record(org, actor, Action.UPDATE, canned, changes=changes)
    return canned
