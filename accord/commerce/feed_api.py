"""Product feeds under `/api/v1/product-feeds`: set them up, run one now, read its runs."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accord.customers.schemas import ListParams
from accord.errors import Conflict
from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import feeds
from .models import ProductFeed, ProductFeedRun
from .schemas import InputSchema

product_feeds = Router(tags=["product feeds"])


class FeedIn(InputSchema):
    name: str
    url: str = Field(description="An http(s) address the feed is downloaded from.")
    format: str = Field("csv", description="csv or json.")
    schedule: str = Field("daily", description="hourly, daily or manual.")
    mapping: dict | None = Field(None, description="{column: product field}; suggested from "
                                                   "the headers when left out.")
    deactivate_missing: bool = False
    is_active: bool = True


class FeedPatch(InputSchema):
    name: str | None = None
    url: str | None = None
    format: str | None = None
    schedule: str | None = None
    mapping: dict | None = None
    deactivate_missing: bool | None = None
    is_active: bool | None = None
    version: int = Field(description="The version the change is based on.")


class FeedOut(Schema):
    id: int
    name: str
    url: str
    format: str
    schedule: str
    mapping: dict
    deactivate_missing: bool
    is_active: bool
    last_run_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class FeedPage(Schema):
    items: list[FeedOut]
    next: str | None


class FeedRunOut(Schema):
    id: int
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    bytes: int
    import_id: int | None = Field(None, alias="import_job_id")
    created: int | None = None
    updated: int | None = None
    failed: int | None = None
    deactivated: int
    error: str

    @staticmethod
    def resolve_created(run):
        return run.import_job.created_count if run.import_job else None

    @staticmethod
    def resolve_updated(run):
        return run.import_job.updated_count if run.import_job else None

    @staticmethod
    def resolve_failed(run):
        return run.import_job.failed_count if run.import_job else None


class FeedRunPage(Schema):
    items: list[FeedRunOut]
    next: str | None


@product_feeds.get("", response=FeedPage, summary="List product feeds")
def list_feeds(request: HttpRequest, filters: Query[ListParams]):
    allow(request, "products.manage")
    ordering = parse_ordering(filters.ordering, {"name": "name", "id": "id"}, "name")
    items, next_cursor = paginate(ProductFeed.objects.all(), ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@product_feeds.post("", response={201: FeedOut}, summary="Add a product feed")
def create_feed(request: HttpRequest, payload: FeedIn):
    allow(request, "products.manage")
    feed = feeds.create_feed(request.organization, request.user,
                             data=payload.model_dump(exclude_unset=True))
    return Status(201, feed)


@product_feeds.get("/{feed_id}", response=FeedOut, summary="Read a product feed")
def read_feed(request: HttpRequest, feed_id: int):
    allow(request, "products.manage")
    return feeds.get_feed(feed_id)


@product_feeds.patch("/{feed_id}", response=FeedOut, summary="Change a product feed")
def update_feed(request: HttpRequest, feed_id: int, payload: FeedPatch):
    allow(request, "products.manage")
    return feeds.update_feed(request.organization, request.user, feeds.get_feed(feed_id),
                             data=payload.model_dump(exclude_unset=True, exclude={"version"}),
                             expected_version=payload.version)


@product_feeds.delete("/{feed_id}", response={204: None},
                      summary="Delete a product feed (its products stay)")
def delete_feed(request: HttpRequest, feed_id: int):
    allow(request, "products.manage")
    feeds.delete_feed(request.organization, request.user, feeds.get_feed(feed_id))
    return Status(204, None)


@product_feeds.post("/{feed_id}/run", response={202: FeedOut},
                    summary="Read the feed now, on the worker")
def run_feed(request: HttpRequest, feed_id: int):
    """409 while a run of the feed is under way."""
    allow(request, "products.manage")
    if not feeds.queue_run(feeds.get_feed(feed_id)):
        raise Conflict("This feed is being read now; wait for that run to finish.")
    return Status(202, feeds.get_feed(feed_id))


@product_feeds.get("/{feed_id}/runs", response=FeedRunPage, summary="A feed's runs, latest first")
def list_runs(request: HttpRequest, feed_id: int, filters: Query[ListParams]):
    allow(request, "products.manage")
    feed = feeds.get_feed(feed_id)
    ordering = parse_ordering(filters.ordering, {"started_at": "started_at"}, "-started_at")
    items, next_cursor = paginate(
        ProductFeedRun.objects.filter(feed=feed).select_related("import_job"), ordering,
        cursor=filters.cursor, limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}
