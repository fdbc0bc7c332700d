"""Knowledge-base pages for the team: the list, an article with its history, editing,
publishing, categories, and the articles suggested for a ticket."""

import csv

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.integrations.writers import text_cell
from accord.web import can, list_page, pager, posted_version, save_form

from . import knowledge
from .knowledge_forms import ArticleForm, CategoryForm
from .models import ArticleCategory, ArticleStatus, Visibility
from .queries import seen_ticket_by_number

PAGE_SIZE = 50
CSV_COLUMNS = ["id", "title", "category", "status", "visibility", "published_at",
               "updated_at"]
ORDERINGS = {"updated_at": "updated_at", "title": "title", "created_at": "created_at",
             "published_at": "published_at"}


def _article(pk):
    try:
        return knowledge.get_article(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _category(pk):
    try:
        return knowledge.get_category(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def public_url(request, article) -> str:
    """Where a customer reads the article in the organisation's portal."""
    return request.build_absolute_uri(
        reverse("portal:article", args=[request.organization.slug, article.pk]))


@permission_required("knowledge.view")
def article_list(request):
    params = request.GET
    page, next_cursor, errors = list_page(
        params, lambda: knowledge.article_filters(
            knowledge.Article.objects.select_related("category", "draft"), params),
        orderings=ORDERINGS, default="-updated_at", limit=PAGE_SIZE)
    context = {
        "articles": page, "errors": errors, "filters": params,
        "categories": ArticleCategory.objects.all(), "statuses": ArticleStatus.choices,
        "visibilities": Visibility.choices, "can_manage": can(request, "knowledge.manage"),
        **pager(params, next_cursor),
    }
    template = "service/knowledge/article_list.html"
    if request.htmx and request.GET.get("rows"):
        template += "#article-rows"
    return render(request, template, context, status=422 if errors else 200)


@permission_required("knowledge.manage")
def article_export(request):
    """The list's articles as CSV, with the same filters; a bad filter answers 422."""
    try:
        rows = knowledge.article_filters(knowledge.Article.objects.select_related("category"),
                                         request.GET)
    except InvalidInput as exc:
        return HttpResponse(exc.errors[0]["message"], status=422, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="articles-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for article in rows.order_by("title", "id").iterator(chunk_size=500):
        writer.writerow([text_cell(value) for value in (
            article.pk, article.title, article.category.name if article.category_id else "",
            article.status, article.visibility,
            article.published_at.isoformat() if article.published_at else "",
            article.updated_at.isoformat())])
    return response


@permission_required("knowledge.manage")
def article_create(request):
    def save(form):
        data = _article_data(request, form)
        article = knowledge.create_article(request.organization, request.user, data=data)
        messages.success(request, _("Article published.") if article.status ==
                         ArticleStatus.PUBLISHED else _("Draft saved."))
        return redirect(article.get_absolute_url())

    return save_form(request, form=ArticleForm(request.POST or None),
                     template="service/knowledge/article_form.html", context={}, save=save)


def _article_data(request, form) -> dict:
    data = form.service_data()
    if request.POST.get("publish"):
        data["status"] = ArticleStatus.PUBLISHED
    return data


@permission_required("knowledge.view")
def article_detail(request, pk: int):
    article = _article(pk)
    draft = article.draft
    pending = draft is not None and article.status == ArticleStatus.PUBLISHED
    return render(request, "service/knowledge/article_detail.html", {
        "article": article, "pending_draft": draft if pending else None,
        "history": knowledge.history(article),
        "public_url": public_url(request, article) if article.is_public else "",
        "can_manage": can(request, "knowledge.manage"),
    })


@permission_required("knowledge.manage")
def article_edit(request, pk: int):
    article = _article(pk)
    text = article.draft or article.current
    form = ArticleForm(request.POST or None, initial={
        "version": article.version, "title": text.title, "body": text.body,
        "category": article.category_id, "visibility": article.visibility})

    def save(form):
        data = _article_data(request, form)
        saved = knowledge.update_article(request.organization, request.user, article, data=data,
                                         expected_version=form.cleaned_data.get("version"))
        messages.success(request, _saved_message(saved, data))
        return redirect(saved.get_absolute_url())

    return save_form(request, form=form, template="service/knowledge/article_form.html",
                     context={"article": article}, save=save)


def _saved_message(article, data: dict) -> str:
    if data.get("status") == ArticleStatus.PUBLISHED:
        return _("Article published.")
    if article.status == ArticleStatus.PUBLISHED and article.draft_id:
        return _("Draft saved. Readers see the published text until you publish it.")
    return _("Article saved.")


@require_POST
@permission_required("knowledge.manage")
def article_publish(request, pk: int):
    article = _article(pk)
    try:
        knowledge.publish_article(request.organization, request.user, article,
                                  expected_version=posted_version(request))
    except StaleVersion as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Article published."))
    return redirect(article.get_absolute_url())


@require_POST
@permission_required("knowledge.manage")
def article_unpublish(request, pk: int):
    article = _article(pk)
    try:
        knowledge.unpublish_article(request.organization, request.user, article,
                                    expected_version=posted_version(request))
    except StaleVersion as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Article unpublished: it is a draft again."))
    return redirect(article.get_absolute_url())


@require_POST
@permission_required("knowledge.manage")
def article_delete(request, pk: int):
    article = _article(pk)
    knowledge.delete_article(request.organization, request.user, article)
    messages.success(request, _("Article deleted."))
    return redirect("knowledge:list")


# Categories


@permission_required("knowledge.manage")
def category_list(request):
    def save(form):
        knowledge.create_category(request.organization, request.user, data=form.service_data())
        messages.success(request, _("Category added."))
        return redirect("knowledge:categories")

    return save_form(request, form=CategoryForm(request.POST or None),
                     template="service/knowledge/category_list.html",
                     context={"categories": ArticleCategory.objects.all()}, save=save)


@permission_required("knowledge.manage")
def category_edit(request, pk: int):
    category = _category(pk)
    form = CategoryForm(request.POST or None, initial={
        "version": category.version, "name": category.name, "position": category.position})

    def save(form):
        knowledge.update_category(request.organization, request.user, category,
                                  data=form.service_data(),
                                  expected_version=form.cleaned_data.get("version"))
        messages.success(request, _("Category saved."))
        return redirect("knowledge:categories")

    return save_form(request, form=form, template="service/knowledge/category_form.html",
                     context={"category": category}, save=save)


@require_POST
@permission_required("knowledge.manage")
def category_delete(request, pk: int):
    category = _category(pk)
    knowledge.delete_category(request.organization, request.user, category)
    messages.success(request, _("Category deleted; its articles have no category now."))
    return redirect("knowledge:categories")


# Suggestions on a ticket


@permission_required("tickets.view")
def ticket_suggestions(request, number: int):
    """The suggested-articles fragment of a ticket, for htmx or a page of its own; 404 for
    a ticket the member may not see, as on the ticket's page."""
    if not can(request, "knowledge.view"):
        raise Http404
    try:
        ticket = seen_ticket_by_number(number, request.membership)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "service/knowledge/_suggestions.html", {
        "suggested_articles": knowledge.suggest_articles(ticket)})
