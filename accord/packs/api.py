"""Industry packs under `/api/v1/packs`: the catalogue, a preview, apply and remove."""

from dataclasses import asdict

from django.http import HttpRequest
from ninja import Router

from accord.identity.api_auth import allow

from . import document, services
from .schemas import (
    PackApplyIn,
    PackDetailOut,
    PackPage,
    PackRemoveIn,
    PackSummaryOut,
)

router = Router(tags=["packs"])


def _summary(summary: services.Summary) -> dict:
    return {"pack": summary.pack, "version": summary.version, "action": summary.action,
            "dry_run": summary.dry_run, "counts": summary.counts(),
            "outcomes": [asdict(item) for item in summary.outcomes]}


@router.get("", response=PackPage, summary="List industry packs")
def list_packs(request: HttpRequest):
    allow(request, "packs.manage")
    return {"items": services.catalogue(), "next": None}


@router.get("/{name}", response=PackDetailOut, summary="Preview a pack")
def read_pack(request: HttpRequest, name: str):
    allow(request, "packs.manage")
    document.load(name)
    row = next(row for row in services.catalogue() if row["name"] == name)
    plan = services.plan(request.organization, request.user, name)
    return {**row, "plan": [asdict(item) for item in plan.outcomes]}


@router.post("/{name}/apply", response=PackSummaryOut, summary="Apply a pack")
def apply_pack(request: HttpRequest, name: str, payload: PackApplyIn):
    allow(request, "packs.manage")
    return _summary(services.apply_pack(request.organization, request.user, name,
                                        dry_run=payload.dry_run))


@router.post("/{name}/remove", response=PackSummaryOut, summary="Remove a pack")
def remove_pack(request: HttpRequest, name: str, payload: PackRemoveIn):
    allow(request, "packs.manage")
    return _summary(services.remove_pack(request.organization, request.user, name,
                                         delete_data=payload.delete_data))
