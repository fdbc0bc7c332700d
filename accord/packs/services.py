"""Applying and removing industry packs, and what a pack would change.

A pack is applied in one transaction: every entry of every section is either
already there from an earlier apply ("installed"), already in the
organisation under the same key ("kept", left as it is), or created through
its area's own service ("added", recorded on the installation). Any error
rolls the whole pack back and names the entry, such as
`segments[0].conditions.all[1].value`. Removal goes through the recorded
objects in reverse and keeps every one that holds data users entered, unless
data may be deleted.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import Conflict, InvalidInput, NotFound
from accord.identity.models import Membership
from accord.identity.permissions import require

from . import blocks, document
from .document import InvalidPack, Pack
from .models import Installation, InstalledObject

logger = logging.getLogger(__name__)

ADDED, KEPT, INSTALLED, REMOVED, GONE = "added", "kept", "installed", "removed", "gone"


@dataclass
class Outcome:
    section: str
    label: str
    key: str
    description: str
    outcome: str
    reason: str = ""


@dataclass
class Summary:
    pack: str
    version: str
    action: str
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.outcomes if item.outcome == outcome)

    def counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in (ADDED, KEPT, INSTALLED, REMOVED, GONE)}

    def kept(self) -> list[Outcome]:
        return [item for item in self.outcomes if item.outcome == KEPT]


class _DryRun(Exception):
    def __init__(self, summary: Summary):
        self.summary = summary


def membership_of(actor) -> Membership:
    """The acting user's membership in the scoped organisation; NotFound without one."""
    membership = Membership.objects.filter(user=actor, is_active=True).first()
    if membership is None:
        raise NotFound("This user is not an active member of the organisation.")
    return membership


def installations() -> dict[str, Installation]:
    return {installation.name: installation for installation in Installation.objects.all()}


def catalogue() -> list[dict]:
    """Every shipped pack with the organisation's installed version of it, if any."""
    installed = installations()
    rows = []
    for name in document.available():
        pack = document.load(name)
        installation = installed.get(name)
        current = installation and not installation.removed_at
        rows.append({
            "name": pack.name, "title": pack.title, "version": pack.version,
            "description": pack.description,
            "installed_version": installation.pack_version if current else None,
            "upgrade": bool(current and document.version_key(installation.pack_version)
                            < pack.version_key),
        })
    return rows


def plan(org, actor, name: str) -> Summary:
    """What applying the pack would do to the organisation, changing nothing."""
    pack = document.load(name)
    ctx = blocks.Context(org=org, actor=actor, membership=membership_of(actor))
    installation = Installation.objects.filter(name=pack.name).first()
    made = _made(installation)
    summary = Summary(pack=pack.name, version=pack.version, action="preview", dry_run=True)
    for block, _index, item in _entries(pack):
        key = block.key(item)
        record = made.get((block.section, key))
        if record is not None and block.find(ctx, key, record.object_id) is not None:
            state = INSTALLED
        elif block.existing(ctx, item) is not None:
            state = KEPT
        else:
            state = ADDED
        summary.outcomes.append(_outcome(block, item, state))
    return summary


def apply_pack(org, actor, name: str, *, dry_run: bool = False) -> Summary:
    """Apply the pack in one transaction; with `dry_run`, do it all and roll it back.

    Raises NotFound for an unknown pack, NotPermitted unless the actor may
    manage packs, InvalidPack naming the entry whose object was refused, and
    Conflict when a newer version of the pack is installed.
    """
    pack = document.load(name)
    membership = membership_of(actor)
    require(membership, "packs.manage")

    try:
        with transaction.atomic():
            summary = _apply(org, actor, membership, pack)
            if dry_run:
                summary.dry_run = True
                raise _DryRun(summary)
    except _DryRun as done:
        return done.summary
    logger.info("pack.applied", extra={"organization_id": org.id, "pack": pack.name,
                                       **summary.counts()})
    return summary


def _apply(org, actor, membership, pack: Pack) -> Summary:
    installation = Installation.objects.select_for_update().filter(name=pack.name).first()
    if installation is not None and (
            document.version_key(installation.pack_version) > pack.version_key):
        raise Conflict(f"Version {installation.pack_version} of this pack is installed, "
                       f"newer than {pack.version}.")
    before = None
    if installation is None:
        installation = Installation.objects.create(
            organization=org, name=pack.name, pack_version=pack.version,
            installed_by=actor if getattr(actor, "pk", None) else None)
    else:
        before = installation.pack_version if installation.removed_at is None else None

    ctx = blocks.Context(org=org, actor=actor, membership=membership)
    made = _made(installation)
    summary = Summary(pack=pack.name, version=pack.version, action="apply")
    for block, index, item in _entries(pack):
        key = block.key(item)
        record = made.get((block.section, key))
        obj = record and block.find(ctx, key, record.object_id)
        if obj:
            ctx.remember(block.section, key, obj)
            summary.outcomes.append(_outcome(block, item, INSTALLED))
            continue
        if record is not None:
            record.delete()
        obj = block.existing(ctx, item)
        if obj is not None:
            ctx.remember(block.section, key, obj)
            summary.outcomes.append(_outcome(block, item, KEPT, "already exists"))
            continue
        obj = _create(ctx, block, item, f"{block.section}[{index}]")
        InstalledObject.objects.create(
            organization=org, installation=installation, block=block.section, key=key,
            object_id=obj.pk, object_version=_version(obj), pack_version=pack.version)
        ctx.remember(block.section, key, obj)
        summary.outcomes.append(_outcome(block, item, ADDED))

    installation.pack_version = pack.version
    installation.removed_at = None
    installation.save_new_version()
    audit.record(org, actor, Action.CREATE if before is None else Action.UPDATE, installation,
                 entity="pack", changes={"version": [before, pack.version],
                                         "added": [None, summary.count(ADDED)],
                                         "kept": [None, summary.count(KEPT)]})
    return summary


def _create(ctx, block, item: dict, path: str):
    try:
        with transaction.atomic():
            return block.create(ctx, item)
    except InvalidInput as exc:
        raise InvalidPack([{"field": f"{path}.{error['field']}", "code": error["code"],
                            "message": error["message"]} for error in exc.errors],
                          detail=f"The pack could not be applied: {path} was refused.") from None


def remove_pack(org, actor, name: str, *, delete_data: bool = False,
                dry_run: bool = False) -> Summary:
    """Take away what the pack created, in one transaction (rolled back with `dry_run`).

    An object that holds data users entered (values in a custom field, deals
    in a pipeline, a record somebody changed) is kept and listed unless
    `delete_data`; one that must stay whatever is asked (a segment a campaign
    uses) is always kept. NotFound when the pack is not installed.
    """
    membership = membership_of(actor)
    require(membership, "packs.manage")

    try:
        summary = _remove(org, actor, membership, name, delete_data=delete_data,
                          dry_run=dry_run)
    except _DryRun as done:
        return done.summary
    logger.info("pack.removed", extra={"organization_id": org.id, "pack": name,
                                       **summary.counts()})
    return summary


@transaction.atomic
def _remove(org, actor, membership, name: str, *, delete_data: bool, dry_run: bool
            ) -> Summary:
    installation = Installation.objects.select_for_update().filter(name=name).first()
    if installation is None or (installation.removed_at is not None
                                and not installation.objects_created.exists()):
        raise NotFound("This pack is not installed.")
    ctx = blocks.Context(org=org, actor=actor, membership=membership)
    summary = Summary(pack=name, version=installation.pack_version, action="remove")
    order = {block.section: block.order for block in blocks.ordered()}
    records = sorted(installation.objects_created.all(),
                     key=lambda record: (-order.get(record.block, 0), -record.pk))
    for record in records:
        summary.outcomes.append(_remove_one(ctx, record, delete_data=delete_data))

    installation.removed_at = timezone.now()
    installation.save_new_version()
    audit.record(org, actor, Action.UPDATE, installation, entity="pack", changes={
        "removed": [None, summary.count(REMOVED)], "kept": [None, summary.count(KEPT)],
        "delete_data": [None, delete_data]})
    if dry_run:
        summary.dry_run = True
        raise _DryRun(summary)
    return summary


def _remove_one(ctx, record: InstalledObject, *, delete_data: bool) -> Outcome:
    block = blocks.REGISTRY.get(record.block)
    if block is None:
        record.delete()
        return Outcome(record.block, record.block, record.key, record.key, GONE)
    obj = block.find(ctx, record.key, record.object_id)
    description = str(obj) if obj is not None else record.key
    if obj is None:
        record.delete()
        return Outcome(block.section, block.label, record.key, description, GONE,
                       "deleted since")
    changed = record.object_version is not None and _version(obj) != record.object_version
    blocked = block.blocked(ctx, obj)
    reason = block.holds_data(ctx, obj) or ("changed since the pack added it" if changed
                                            else "")
    if blocked or (reason and not delete_data):
        return Outcome(block.section, block.label, record.key, description, KEPT,
                       blocked or reason)
    note = block.delete(ctx, obj, delete_data=delete_data, changed=changed)
    record.delete()
    return Outcome(block.section, block.label, record.key, description, REMOVED, note)


def _entries(pack: Pack):
    for block in blocks.ordered():
        items = pack.sections.get(block.section, [])
        for item in block.arrange(items):
            yield block, next(index for index, each in enumerate(items) if each is item), item


def _made(installation: Installation | None) -> dict:
    if installation is None:
        return {}
    return {(record.block, record.key): record
            for record in installation.objects_created.all()}


def _outcome(block, item: dict, outcome: str, reason: str = "") -> Outcome:
    return Outcome(block.section, block.label, block.key(item), block.describe(item), outcome,
                   reason)


def _version(obj) -> int | None:
    if not hasattr(obj, "version"):
        return None
    return type(obj).unscoped.filter(pk=obj.pk).values_list("version", flat=True).first()
