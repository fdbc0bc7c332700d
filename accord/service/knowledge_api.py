"""Knowledge-base articles under `/api/v1/articles`.

Lists read the same filters as the knowledge-base page
(`knowledge.article_filters`). Changing the text of a published article
writes a pending draft, returned as `draft`; `status: "published"` in a
PATCH (or POST `/publish`) makes it current.
"""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import knowledge
from .models import Article
from .schemas import InputSchema, ServiceListParams, to_service_data

articles = Router(tags=["knowledge base"])

ORDERINGS = {"created_at": "created_at", "updated_at": "updated_at", "title": "title",
             "published_at": "published_at"}


class ArticleFilters(ServiceListParams):
    q: str | None = Field(None, description="Search titles, text and category names.")
    category_id: str | None = Field(None, description="A category id, or `none`.")
    status: str | None = Field(None, description="`draft` or `published`.")
    visibility: str | None = Field(None, description="`internal` or `public`.")


class DraftOut(Schema):
    number: int
    title: str
    body: str
    updated_at: dt.datetime


class ArticleOut(Schema):
    id: int
    title: str
    body: str = Field(description="Sanitised HTML: what readers see.")
    category_id: int | None
    visibility: str
    status: str
    current_version: int | None
    draft: DraftOut | None = Field(description="Text waiting to be published, if any.")
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ArticlePage(Schema):
    items: list[ArticleOut]
    next: str | None


class ArticleIn(InputSchema):
    title: str
    body: str = Field("", description="HTML; anything outside the allow-list is removed.")
    category_id: int | None = None
    visibility: str = "internal"
    status: str = Field("draft", description="`published` publishes at once.")


class ArticlePatch(InputSchema):
    title: str | None = None
    body: str | None = None
    category_id: int | None = None
    visibility: str | None = None
    status: str | None = Field(None, description="`published` publishes the pending draft; "
                               "`draft` unpublishes.")
    version: int = Field(description="The version the change is based on.")


class VersionAction(InputSchema):
    version: int | None = Field(None, description="The version you read; 409 when stale.")


def _data(payload) -> dict:
    data = to_service_data(payload)
    if "category_id" in data:
        data["category"] = data.pop("category_id")
    return data


def _out(article: Article) -> dict:
    draft = article.draft
    pending = draft if draft is not None and article.status == "published" else None
    return {
        **{field: getattr(article, field) for field in (
            "id", "title", "body", "category_id", "visibility", "status", "published_at",
            "created_at", "updated_at", "version")},
        "current_version": article.current.number if article.current_id else None,
        "draft": None if pending is None else {
            "number": pending.number, "title": pending.title, "body": pending.body,
            "updated_at": pending.updated_at},
    }


def _fresh(article: Article) -> dict:
    return _out(knowledge.get_article(article.pk))


@articles.get("", response=ArticlePage, summary="List knowledge-base articles")
def list_articles(request: HttpRequest, filters: Query[ArticleFilters]):
    allow(request, "knowledge.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "-updated_at")
    queryset = knowledge.article_filters(
        Article.objects.select_related("current", "draft"), request.GET)
    items, next_cursor = paginate(queryset, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": [_out(article) for article in items], "next": next_cursor}


@articles.post("", response={201: ArticleOut}, summary="Write an article")
def create_article(request: HttpRequest, payload: ArticleIn):
    allow(request, "knowledge.manage")
    article = knowledge.create_article(request.organization, request.user,
                                       data=_data(payload))
    return Status(201, _fresh(article))


@articles.get("/{article_id}", response=ArticleOut, summary="Read an article")
def read_article(request: HttpRequest, article_id: int):
    allow(request, "knowledge.view")
    return _out(knowledge.get_article(article_id))


@articles.patch("/{article_id}", response=ArticleOut, summary="Change an article")
def update_article(request: HttpRequest, article_id: int, payload: ArticlePatch):
    allow(request, "knowledge.manage")
    article = knowledge.get_article(article_id)
    article = knowledge.update_article(request.organization, request.user, article,
                                       data=_data(payload), expected_version=payload.version)
    return _fresh(article)


@articles.post("/{article_id}/publish", response=ArticleOut,
               summary="Publish an article's pending draft")
def publish_article(request: HttpRequest, article_id: int, payload: VersionAction):
    allow(request, "knowledge.manage")
    article = knowledge.publish_article(request.organization, request.user,
                                        knowledge.get_article(article_id),
                                        expected_version=payload.version)
    return _fresh(article)


@articles.post("/{article_id}/unpublish", response=ArticleOut,
               summary="Take an article back to draft")
def unpublish_article(request: HttpRequest, article_id: int, payload: VersionAction):
    allow(request, "knowledge.manage")
    article = knowledge.unpublish_article(request.organization, request.user,
                                          knowledge.get_article(article_id),
                                          expected_version=payload.version)
    return _fresh(article)


@articles.delete("/{article_id}", response={204: None}, summary="Delete an article for good")
def delete_article(request: HttpRequest, article_id: int, version: int | None = None):
    allow(request, "knowledge.manage")
    knowledge.delete_article(request.organization, request.user,
                             knowledge.get_article(article_id), expected_version=version)
    return Status(204, None)
