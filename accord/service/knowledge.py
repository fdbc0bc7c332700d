"""Every write to the knowledge base, its search entries and the articles a ticket suggests.

Article text is versioned: the first text and every later edit live in
`ArticleVersion` rows. While an article is a draft, editing rewrites its
pending version and the article shows it at once. Once published, the
article keeps showing the published text and an edit goes into a new
pending version; `publish_article` makes that version current.
"""

import html
import logging

import nh3
from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from accord import events, search
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector, as_pk, clean_choice, clean_ref
from accord.errors import NotFound, StaleVersion

from .models import Article, ArticleCategory, ArticleStatus, ArticleVersion, Ticket, Visibility

logger = logging.getLogger(__name__)

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "code", "pre",
                "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
TITLE_LIMIT = 250
BODY_LIMIT = 200_000
CATEGORY_NAME_LIMIT = 120
ARTICLE_FIELDS = ["title", "body", "category", "visibility", "status"]
CATEGORY_FIELDS = ["name", "position"]


def clean_html(markup: str) -> str:
    """`markup` reduced to the article allow-list.

    Only the tags above survive, links keep nothing but an http(s) or mailto
    `href` (and gain rel="noopener noreferrer"); scripts and styles go with
    their content, and every other attribute (event handlers, style, hx-*,
    data-*) is dropped.
    """
    return nh3.clean(markup or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, strip_comments=True,
                     link_rel="noopener noreferrer")


def plain_text(markup: str) -> str:
    """The words of stored article HTML as plain text, for search and previews."""
    text = nh3.clean((markup or "").replace("<", " <"), tags=set(), attributes={})
    return " ".join(html.unescape(text).split())


def get_article(article_id) -> Article:
    pk = as_pk(article_id)
    article = (Article.objects.select_related("category", "current", "draft")
               .filter(pk=pk).first() if pk else None)
    if article is None:
        raise NotFound("No article with this id.")
    return article


def get_category(category_id) -> ArticleCategory:
    pk = as_pk(category_id)
    category = ArticleCategory.objects.filter(pk=pk).first() if pk else None
    if category is None:
        raise NotFound("No category with this id.")
    return category


def public_articles() -> QuerySet:
    """Articles a customer may read: published and public, in the scope's organisation."""
    return Article.objects.filter(status=ArticleStatus.PUBLISHED, visibility=Visibility.PUBLIC)


# Validation


def _clean_title(value, errors: Collector) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add("title", "Give the article a title.", "required")
        return None
    if not isinstance(value, str):
        errors.add("title", "Enter text.")
        return None
    text = " ".join(value.split())
    if "\x00" in text:
        errors.add("title", "Remove the NUL character; it cannot be stored.")
        return None
    if len(text) > TITLE_LIMIT:
        errors.add("title", f"Keep the title under {TITLE_LIMIT} characters.", "too_long")
        return None
    return text


def _clean_body(value, errors: Collector) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add("body", "Enter text.")
        return None
    if "\x00" in value:
        errors.add("body", "Remove the NUL character; it cannot be stored.")
        return None
    if len(value) > BODY_LIMIT:
        errors.add("body", f"Keep the article under {BODY_LIMIT:,} characters.", "too_long")
        return None
    return clean_html(value).strip()


def clean_article(data: dict, *, current: Article | None = None) -> dict:
    """Validate article fields; only keys present in `data` are returned (all on create).

    Raises InvalidInput naming every bad field.
    """
    errors = Collector()
    out: dict = {}
    if "title" in data or current is None:
        out["title"] = _clean_title(data.get("title"), errors)
    if "body" in data or current is None:
        out["body"] = _clean_body(data.get("body"), errors)
    if "category" in data:
        out["category"] = clean_ref(ArticleCategory, data["category"], "category_id", errors,
                                    "Choose an existing category.")
    if "visibility" in data:
        out["visibility"] = clean_choice(data["visibility"], "visibility", Visibility, errors,
                                         blank=False)
    if "status" in data:
        out["status"] = clean_choice(data["status"], "status", ArticleStatus, errors,
                                     blank=False)
    errors.raise_if_any()
    return out


def clean_category(data: dict, *, current: ArticleCategory | None = None) -> dict:
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", "Give the category a name.", "required")
        elif len(name) > CATEGORY_NAME_LIMIT:
            errors.add("name", f"Keep the name under {CATEGORY_NAME_LIMIT} characters.",
                       "too_long")
        elif ArticleCategory.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another category already has this name.", "duplicate")
        out["name"] = name
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or as_pk(position) is None or not 0 <= int(position) < 2**31:
            errors.add("position", "Give a whole number from 0.")
        else:
            out["position"] = int(position)
    errors.raise_if_any()
    return out


# Categories


@transaction.atomic
def create_category(org, actor, *, data: dict) -> ArticleCategory:
    values = clean_category(data)
    if "position" not in values:
        highest = ArticleCategory.objects.aggregate(highest=Max("position"))["highest"]
        values["position"] = 0 if highest is None else highest + 1
    category = ArticleCategory.objects.create(organization=org, **values)
    audit.record(org, actor, Action.CREATE, category,
                 changes=audit.diff({}, audit.snapshot(category, CATEGORY_FIELDS)))
    return category


@transaction.atomic
def update_category(org, actor, category: ArticleCategory, *, data: dict,
                    expected_version: int | None = None) -> ArticleCategory:
    category = ArticleCategory.objects.select_for_update().get(pk=category.pk)
    if expected_version is not None and int(expected_version) != category.version:
        raise StaleVersion(current_version=category.version)
    values = clean_category(data, current=category)
    before = audit.snapshot(category, CATEGORY_FIELDS)
    for name, value in values.items():
        setattr(category, name, value)
    changes = audit.diff(before, audit.snapshot(category, CATEGORY_FIELDS))
    if not changes:
        return category
    category.save_new_version()
    # The category name is part of its articles' search text.
    search.reindex(Article, category.articles.values_list("pk", flat=True))
    audit.record(org, actor, Action.UPDATE, category, changes=changes)
    return category


@transaction.atomic
def delete_category(org, actor, category: ArticleCategory) -> None:
    """Remove a category; its articles stay, without a category."""
    ids = list(category.articles.values_list("pk", flat=True))
    audit.record(org, actor, Action.PURGE, category)
    category.delete()
    search.reindex(Article, ids)


# Articles


def _lock(article: Article, expected_version=None) -> Article:
    # Only the article row is locked: PostgreSQL cannot lock the optional
    # version rows joined to it.
    locked = (Article.objects.select_for_update(of=("self",))
              .select_related("current", "draft").get(pk=article.pk))
    if expected_version is not None and int(expected_version) != locked.version:
        raise StaleVersion(current_version=locked.version)
    return locked


def _next_number(article: Article) -> int:
    highest = article.versions.aggregate(highest=Max("number"))["highest"]
    return (highest or 0) + 1


def _event_data(article: Article) -> dict:
    return {"id": article.pk, "title": article.title, "status": article.status,
            "visibility": article.visibility, "category_id": article.category_id}


@transaction.atomic
def create_article(org, actor, *, data: dict) -> Article:
    """Write a new article as a draft (published at once when `status` says so).

    Raises InvalidInput naming every bad field.
    """
    values = clean_article(data)
    status = values.pop("status", ArticleStatus.DRAFT)
    user = actor if getattr(actor, "pk", None) else None

    article = Article.objects.create(organization=org, created_by=user, **values)
    draft = ArticleVersion.objects.create(organization=org, article=article, number=1,
                                          title=article.title, body=article.body, author=user)
    article.draft = draft
    article.save(update_fields=["draft"])
    audit.record(org, actor, Action.CREATE, article,
                 changes=audit.diff({}, audit.snapshot(article, ARTICLE_FIELDS)))
    events.emit(org, actor, "article.created", article, data=_event_data(article))
    if status == ArticleStatus.PUBLISHED:
        article = publish_article(org, actor, article)
    search.reindex(Article, [article.pk])
    logger.info("article.created", extra={"organization_id": org.id, "article_id": article.pk})
    return article


@transaction.atomic
def update_article(org, actor, article: Article, *, data: dict,
                   expected_version: int | None = None) -> Article:
    """Change an article. New text of a published article waits in a draft version.

    `status` in `data` publishes or unpublishes after the other changes.
    Raises StaleVersion when `expected_version` is not the stored one and
    InvalidInput naming every bad field.
    """
    article = _lock(article, expected_version)
    values = clean_article(data, current=article)
    status = values.pop("status", None)
    title, body = values.pop("title", None), values.pop("body", None)
    before = audit.snapshot(article, ARTICLE_FIELDS)
    user = actor if getattr(actor, "pk", None) else None

    for name, value in values.items():
        setattr(article, name, value)
    text_changes = _write_draft(org, user, article, title, body)
    changes = {**audit.diff(before, audit.snapshot(article, ARTICLE_FIELDS)), **text_changes}
    if changes:
        article.save_new_version()
        audit.record(org, actor, Action.UPDATE, article, changes=changes)
    if status == ArticleStatus.PUBLISHED and (article.status != status or article.draft_id):
        article = publish_article(org, actor, article)
    elif status == ArticleStatus.DRAFT and article.status != status:
        article = unpublish_article(org, actor, article)
    search.reindex(Article, [article.pk])
    return article


def _write_draft(org, user, article: Article, title: str | None, body: str | None) -> dict:
    """Put new text into the pending draft (made when there is none); the changes made.

    A draft article shows its draft's text, so its own title and body follow.
    """
    source = article.draft or article.current
    new_title = source.title if title is None else title
    new_body = source.body if body is None else body
    if (new_title, new_body) == (source.title, source.body):
        return {}
    changes = {}
    if new_title != source.title:
        changes["draft_title"] = [source.title, new_title]
    if new_body != source.body:
        changes["draft_body"] = [len(source.body), len(new_body)]
    if article.draft is None:
        article.draft = ArticleVersion.objects.create(
            organization=org, article=article, number=_next_number(article), title=new_title,
            body=new_body, author=user)
    else:
        article.draft.title, article.draft.body, article.draft.author = new_title, new_body, user
        article.draft.save(update_fields=["title", "body", "author", "updated_at"])
    if article.status == ArticleStatus.DRAFT:
        article.title, article.body = new_title, new_body
    return changes


@transaction.atomic
def publish_article(org, actor, article: Article, *,
                    expected_version: int | None = None) -> Article:
    """Make the pending draft the current text and the article published.

    Publishing an article without a draft (one unpublished earlier) publishes
    its current text again.
    """
    article = _lock(article, expected_version)
    now = timezone.now()
    user = actor if getattr(actor, "pk", None) else None
    if article.status == ArticleStatus.PUBLISHED and article.draft is None:
        return article

    previous = article.status
    version = article.draft or article.current
    ArticleVersion.objects.filter(pk=version.pk).update(published_at=now, published_by=user)
    article.title, article.body = version.title, version.body
    article.current, article.draft = version, None
    article.status = ArticleStatus.PUBLISHED
    article.published_at = now
    article.save_new_version()
    search.reindex(Article, [article.pk])

    audit.record(org, actor, Action.UPDATE, article,
                 changes={"status": [previous, ArticleStatus.PUBLISHED],
                          "published_version": [None, version.number]})
    events.emit(org, actor, "article.published", article,
                data={**_event_data(article), "published_version": version.number})
    logger.info("article.published", extra={"organization_id": org.id,
                                            "article_id": article.pk,
                                            "version": version.number})
    return article


@transaction.atomic
def unpublish_article(org, actor, article: Article, *,
                      expected_version: int | None = None) -> Article:
    """Take an article back to draft: readers of the portal no longer find it.

    A pending draft stays pending; the article keeps showing its last
    published text until it is published again.
    """
    article = _lock(article, expected_version)
    if article.status == ArticleStatus.DRAFT:
        return article
    article.status = ArticleStatus.DRAFT
    article.save_new_version()
    search.reindex(Article, [article.pk])
    audit.record(org, actor, Action.UPDATE, article,
                 changes={"status": [ArticleStatus.PUBLISHED, ArticleStatus.DRAFT]})
    events.emit(org, actor, "article.unpublished", article, data=_event_data(article))
    return article


@transaction.atomic
def delete_article(org, actor, article: Article, *, expected_version: int | None = None) -> None:
    """Delete an article for good, with its versions."""
    article = _lock(article, expected_version)
    pk = article.pk
    audit.record(org, actor, Action.PURGE, article,
                 changes={"title": [article.title, None]})
    events.emit(org, actor, "article.deleted", article, data={"id": pk, "title": article.title})
    Article.objects.filter(pk=pk).update(current=None, draft=None)
    article.delete()
    search.reindex(Article, [pk])


def history(article: Article) -> list[ArticleVersion]:
    """The article's versions, newest first, with who wrote and published them."""
    return list(article.versions.select_related("author", "published_by")
                .order_by(F("number").desc()))


# Reading


def article_filters(queryset: QuerySet, params) -> QuerySet:
    """Narrow articles by `q`, `category_id`, `status` and `visibility` from a query dict.

    Raises InvalidInput naming a filter whose value is not one of its choices.
    """
    errors = Collector()
    status = (params.get("status") or "").strip()
    if status:
        if status not in ArticleStatus.values:
            errors.add("status", "Choose one of: " + ", ".join(ArticleStatus.values) + ".")
        queryset = queryset.filter(status=status)
    visibility = (params.get("visibility") or "").strip()
    if visibility:
        if visibility not in Visibility.values:
            errors.add("visibility", "Choose one of: " + ", ".join(Visibility.values) + ".")
        queryset = queryset.filter(visibility=visibility)
    category = params.get("category_id")
    if category not in (None, ""):
        if str(category) == "none":
            queryset = queryset.filter(category__isnull=True)
        elif as_pk(category) is None:
            errors.add("category_id", "Give a category id.")
        else:
            queryset = queryset.filter(category_id=as_pk(category))
    errors.raise_if_any()
    query = (params.get("q") or "").strip()
    if query:
        queryset = search.search(queryset, query)
    return queryset


# Words that say nothing about what a ticket is about.
_STOP_WORDS = """
a an and are as at be but by can cannot could do does for from get has have help how i if
in is it its me my no not of on or our please problem question re fw fwd so that the their
there this to up us was we what when where which why will with would you your
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
# A subject has a handful of telling words; more only add noise and queries.
SUGGESTION_WORDS = 6


def suggestion_words(subject: str) -> list[str]:
    """The words of a ticket subject worth looking up: folded, no stop words or digits only."""
    found = []
    for word in search.words(subject or ""):
        if len(word) < 3 or word in STOP_WORDS or word.isdigit() or word in found:
            continue
        found.append(word)
    return found[:SUGGESTION_WORDS]


def suggest_articles(ticket: Ticket, limit: int = 3) -> list[Article]:
    """Public published articles that share words with the ticket's subject, best first.

    Each word of the subject is looked up alone, so an article needs only
    some of them; those matching more words come first, then the ones whose
    title holds a matching word, then the most recently published. Runs in
    the ticket's organisation scope.
    """
    words = suggestion_words(ticket.subject)
    if not words or limit < 1:
        return []
    matched: dict[int, int] = {}
    for word in words:
        for pk in search.search(public_articles(), word).values_list("pk", flat=True):
            matched[pk] = matched.get(pk, 0) + 1
    articles = public_articles().filter(pk__in=list(matched)).select_related("category")

    def rank(article: Article):
        title_words = set(search.words(article.title))
        in_title = sum(1 for word in words if any(t.startswith(word) for t in title_words))
        return (-matched[article.pk], -in_title, -article.published_at.timestamp(), -article.pk)

    return sorted(articles, key=rank)[:limit]

