"""Product feeds: read a catalogue file from another system's address, on a schedule.

A run downloads the file (through the same guard as webhooks, so a feed
cannot reach the machine's own services or the private network), turns a
JSON feed into rows, and imports the rows as products with the importer:
matched by SKU, overwritten with the feed's values, every refused row in the
import's error file, and the whole run undoable from the import's page.
Call everything inside the organisation's scope.
"""

import csv
import datetime as dt
import io
import json
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.integrations import engine, outbound
from accord.integrations import services as imports
from accord.integrations.entities import get as get_entity
from accord.integrations.models import DuplicatePolicy, ImportStatus
from accord.integrations.readers import ReadError

from . import services
from .models import FeedFormat, FeedRunStatus, FeedSchedule, Product, ProductFeed, ProductFeedRun

logger = logging.getLogger(__name__)

MAX_FEED_BYTES = 50 * 2**20  # a catalogue of a few hundred thousand products
FEED_FIELDS = ["name", "url", "format", "schedule", "mapping", "deactivate_missing",
               "is_active"]
INTERVALS = {FeedSchedule.HOURLY: dt.timedelta(hours=1),
             FeedSchedule.DAILY: dt.timedelta(days=1)}
# A run still marked running after this long lost its worker; another may start.
STALE_RUN = dt.timedelta(minutes=30)


class FeedError(Exception):
    """The feed's file could not be read; the message says why in words for the admin."""


def get_feed(feed_id) -> ProductFeed:
    try:
        feed = ProductFeed.objects.filter(pk=int(feed_id)).first()
    except (TypeError, ValueError):
        feed = None
    if feed is None:
        raise NotFound(_("No product feed with this id."))
    return feed


def clean_feed(data: dict, *, current: ProductFeed | None = None) -> dict:
    """Validated values for the fields in `data`; InvalidInput naming each wrong one."""
    errors, out = {}, {}
    is_new = current is None
    if "name" in data or is_new:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = _("Give the feed a name.")
        elif len(name) > 120:
            errors["name"] = _("Use at most 120 characters.")
        out["name"] = name
    if "url" in data or is_new:
        url = str(data.get("url") or "").strip()
        try:
            # Checked again at every run: the name may point elsewhere later.
            host, port, _path, _scheme = outbound.check_url(url)
            outbound.resolve(host, port)
        except outbound.Refused as exc:
            errors["url"] = str(exc)
        if len(url) > 1000:
            errors["url"] = _("Use at most 1000 characters.")
        out["url"] = url
    for field, choices in (("format", FeedFormat), ("schedule", FeedSchedule)):
        if field in data:
            if data[field] not in choices.values:
                errors[field] = _("Choose one of: %(choices)s.") % {
                    "choices": ", ".join(choices.values)}
            out[field] = data[field]
    if "mapping" in data:
        try:
            out["mapping"] = imports.clean_mapping(get_entity("product"), data["mapping"] or {})
        except InvalidInput as exc:
            errors.update({error["field"]: error["message"] for error in exc.errors})
    for flag in ("deactivate_missing", "is_active"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors[flag] = _("Give true or false.")
            out[flag] = data[flag]
    if errors:
        raise InvalidInput(errors)
    return out


@transaction.atomic
def create_feed(org, actor, *, data: dict) -> ProductFeed:
    values = clean_feed(data)
    feed = ProductFeed.objects.create(organization=org, created_by=actor if getattr(
        actor, "pk", None) else None, **values)
    audit.record(org, actor, Action.CREATE, feed, entity="product_feed",
                 changes=audit.diff({}, audit.snapshot(feed, FEED_FIELDS)))
    return feed


@transaction.atomic
def update_feed(org, actor, feed: ProductFeed, *, data: dict,
                expected_version: int | None = None) -> ProductFeed:
    """Change a feed; StaleVersion when someone saved it since `expected_version`."""
    feed = ProductFeed.objects.select_for_update().get(pk=feed.pk)
    if expected_version is not None and int(expected_version) != feed.version:
        raise StaleVersion(current_version=feed.version)
    values = clean_feed(data, current=feed)
    before = audit.snapshot(feed, FEED_FIELDS)
    for field, value in values.items():
        setattr(feed, field, value)
    changes = audit.diff(before, audit.snapshot(feed, FEED_FIELDS))
    if changes:
        feed.save_new_version()
        feed.refresh_from_db()
        audit.record(org, actor, Action.UPDATE, feed, entity="product_feed", changes=changes)
    return feed


def delete_feed(org, actor, feed: ProductFeed) -> None:
    """Delete the feed and its run log; the products it brought stay."""
    audit.record(org, actor, Action.DELETE, feed, entity="product_feed")
    feed.delete()


def due_feeds(now: dt.datetime | None = None):
    """Active feeds of every organisation whose schedule says they should run now.

    The scheduler looks across organisations; each run then works inside its own.
    """
    now = now or timezone.now()
    for feed in ProductFeed.unscoped.select_related("organization").filter(
            is_active=True).exclude(
            schedule=FeedSchedule.MANUAL).order_by("pk"):
        if feed.last_run_at is None or feed.last_run_at <= now - INTERVALS[feed.schedule]:
            yield feed


def claim(feed: ProductFeed) -> bool:
    """Mark the feed as run now, unless a run of it is under way; False when one is."""
    now = timezone.now()
    if ProductFeedRun.objects.filter(feed=feed, status=FeedRunStatus.RUNNING,
                                     started_at__gt=now - STALE_RUN).exists():
        return False
    claimed = ProductFeed.objects.filter(pk=feed.pk, last_run_at=feed.last_run_at).update(
        last_run_at=now)
    return bool(claimed)


def queue_run(feed: ProductFeed) -> bool:
    """Claim the feed and hand a run of it to the worker; False while a run is under way."""
    from .tasks import run_product_feed

    if not claim(feed):
        return False
    run_product_feed.delay(feed.pk)
    return True


def rows_of_json(body: bytes) -> bytes:
    """A JSON feed (a list of product objects, or an object holding one under
    `products` or `items`) as CSV bytes with a column per key; FeedError if it is not."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(_("The feed is not valid JSON: %(error)s") % {"error": exc}) from None
    if isinstance(data, dict):
        data = data.get("products", data.get("items"))
    if not isinstance(data, list):
        raise FeedError(_("The JSON feed should be a list of product objects, or an object "
                          "with such a list under “products”."))
    strays = [str(position) for position, item in enumerate(data, start=1)
              if not isinstance(item, dict)]
    if strays:
        raise FeedError(ngettext(
            "Item %(items)s of the JSON feed is not a product object; nothing was imported.",
            "Items %(items)s of the JSON feed are not product objects; nothing was imported.",
            len(strays)) % {"items": ", ".join(strays[:10]) + (" …" if len(strays) > 10 else "")})
    headers: dict[str, None] = {}
    for item in data:
        headers.update(dict.fromkeys(str(key) for key in item))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for item in data:
        writer.writerow([_cell(item.get(header)) for header in headers])
    return out.getvalue().encode("utf-8")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def run_feed(org, feed: ProductFeed, *, actor=None) -> ProductFeedRun:
    """Download the feed and import it as products now; the run records what happened.

    Never raises for a feed that cannot be read: the run is marked failed with
    the reason, which the feed's page shows.
    """
    actor = actor or feed.created_by
    run = ProductFeedRun.objects.create(organization=org, feed=feed, started_at=timezone.now())
    try:
        body = outbound.fetch(feed.url, max_bytes=MAX_FEED_BYTES)
        run.bytes = len(body)
        if feed.format == FeedFormat.JSON:
            body = rows_of_json(body)
        job = imports.create_job(
            org, actor, entity="product",
            upload=ContentFile(body, name=f"feed-{feed.pk}-{run.pk}.csv"),
            options={"duplicate_policy": DuplicatePolicy.OVERWRITE},
            mapping=feed.mapping or None)
        run.import_job = job
        run.save(update_fields=["bytes", "import_job"])
        job = engine.run_job(org, actor, job)
        if feed.deactivate_missing and job.status == ImportStatus.DONE:
            run.deactivated = _deactivate_missing(org, actor, job)
        run.status = FeedRunStatus.DONE
    except (outbound.Refused, OSError, FeedError, ReadError) as exc:
        run.status, run.error = FeedRunStatus.FAILED, str(exc)
    except InvalidInput as exc:
        run.status = FeedRunStatus.FAILED
        run.error = " ".join(error["message"] for error in exc.errors)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "deactivated", "bytes"])
    logger.info("product_feed.ran", extra={"organization_id": org.id, "feed_id": feed.pk,
                                           "status": run.status})
    return run


def _deactivate_missing(org, actor, job) -> int:
    """Switch off the active products whose SKU the feed's file no longer has.

    A file without a single SKU switches nothing off: an empty export from a
    broken shop must not empty the catalogue.
    """
    sku_headers = [header for header, key in job.options.get("mapping", {}).items()
                   if key == "sku"]
    if not sku_headers:
        return 0
    listed = set()
    with engine.table_for(job) as table:
        position = table.headers.index(sku_headers[0])
        for row in table.rows():
            if row.values[position].strip():
                listed.add(row.values[position].strip().casefold())
    if not listed:
        return 0
    count = 0
    for product in Product.objects.filter(is_active=True).order_by("pk").iterator():
        if product.sku.casefold() not in listed:
            services.deactivate_product(org, actor, product)
            count += 1
    return count
