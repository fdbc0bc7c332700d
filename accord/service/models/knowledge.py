from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord import search
from accord.core.models import TenantModel, VersionedModel


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Visibility(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    PUBLIC = "public", _("Public")


class ArticleCategory(VersionedModel):
    """A shelf of the knowledge base; `position` orders the shelves."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta(VersionedModel.Meta):
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="articlecategory_unique_name"),
        ]
        indexes = [
            models.Index(fields=["organization", "position"], name="articlecategory_order"),
        ]

    def __str__(self) -> str:
        return self.name


class Article(VersionedModel):
    """A knowledge-base article.

    `title` and `body` are what readers see: the published text, or the draft
    while the article has never been published. Editing a published article
    writes a pending `draft` version instead, which `publish` makes current.
    `body` is HTML already reduced to the allow-list of `knowledge.clean_html`.
    """

    title = models.CharField(_("title"), max_length=250)
    body = models.TextField(_("body"), blank=True)
    category = models.ForeignKey(ArticleCategory, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="articles",
                                 verbose_name=_("category"))
    visibility = models.CharField(_("visibility"), max_length=8, choices=Visibility.choices,
                                  default=Visibility.INTERNAL)
    status = models.CharField(_("status"), max_length=9, choices=ArticleStatus.choices,
                              default=ArticleStatus.DRAFT)
    current = models.ForeignKey("service.ArticleVersion", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("current version"))
    draft = models.ForeignKey("service.ArticleVersion", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("pending draft"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "id"], name="article_org_id"),
            models.Index(fields=["organization", "status", "visibility"],
                         name="article_status"),
            models.Index(fields=["organization", "category", "id"], name="article_category"),
            models.Index(fields=["organization", "updated_at", "id"], name="article_updated"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("knowledge:article", args=[self.pk])

    @property
    def is_public(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and self.visibility == Visibility.PUBLIC


class ArticleVersion(TenantModel):
    """One text of an article: published at some point, or the draft still pending.

    A pending draft is rewritten in place as it is edited; once published it
    is never changed again, so the history shows exactly what readers saw.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=250)
    body = models.TextField(_("body"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "article", "number"],
                                    name="articleversion_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"


def _article_search_text(article: Article) -> str:
    from accord.service.knowledge import plain_text

    category = article.category.name if article.category_id else ""
    return search.build_search_text(article.title, plain_text(article.body), category)


# Registered beside the model, not in the services, so that every process
# that loads the models (`accord reindex` too) knows how articles are found.
search.register(
    Article, "articles", text_of=_article_search_text, title_of=lambda article: article.title,
    live=lambda articles: articles.select_related("category"),
)
