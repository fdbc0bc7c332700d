"""Pages of e-mail templates, campaigns and the suppression list."""

from django.contrib import messages
from django.db.models.functions import Lower
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accord.customers.models import Contact
from accord.customers.queries import search_with_company
from accord.customers.validation import as_pk
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.models import Area
from accord.identity.permissions import permission_required
from accord.identity.visibility import can_see, through_contact, visible
from accord.web import can, confirm_delete, list_page, pager, posted_version, save_form

from . import campaigns as services
from . import reports
from .campaign_forms import CampaignForm, SuppressionForm, TemplateForm
from .models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    EmailTemplate,
    ExclusionReason,
    RecipientStatus,
    SuppressedAddress,
)

PAGE_SIZE = 50
ORDERINGS = {"name": Lower("name"), "updated_at": "updated_at", "created_at": "created_at"}
PREVIEW_CHOICES = 50  # contacts offered to preview for; the search finds the others
# What the preview frame may do: show the e-mail and its images, nothing else.
PREVIEW_POLICY = ("sandbox; default-src 'none'; img-src http: https: data:; "
                  "style-src 'unsafe-inline'; frame-ancestors 'self'")


def _get(lookup, pk):
    try:
        return lookup(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _named(rows, params):
    for word in params.get("q", "").split():
        rows = rows.filter(name__icontains=word)
    return rows


# Templates


@permission_required("campaigns.view")
def template_list(request):
    params = request.GET
    page, next_cursor, errors = list_page(
        params, lambda: _named(EmailTemplate.objects.all(), params), orderings=ORDERINGS,
        default="name", limit=PAGE_SIZE)
    return render(request, "marketing/template_list.html", {
        "templates": page, "errors": errors, "filters": params,
        "can_manage": can(request, "campaigns.manage"), **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("campaigns.manage")
def template_create(request):
    form = TemplateForm(request.POST or None)
    saved = save_form(request, form=form, template="marketing/template_form.html",
                      context={"template": None},
                      save=lambda form: services.create_template(
                          request.organization, request.user, data=form.service_data()))
    if isinstance(saved, EmailTemplate):
        messages.success(request, _("Template saved."))
        return redirect(saved.get_absolute_url())
    return saved


@permission_required("campaigns.manage")
def template_edit(request, pk: int):
    template = _get(services.get_template, pk)
    initial = {name: getattr(template, name) for name in
               ("name", "subject", "html", "text", "text_by_hand", "version")}
    form = TemplateForm(request.POST or None, initial=initial)
    saved = save_form(request, form=form, template="marketing/template_form.html",
                      context={"template": template},
                      save=lambda form: services.update_template(
                          request.organization, request.user, template,
                          data=form.service_data(),
                          expected_version=form.cleaned_data.get("version")))
    if isinstance(saved, EmailTemplate):
        messages.success(request, _("Template saved."))
        return redirect(saved.get_absolute_url())
    return saved


def _preview_contact(request) -> Contact | None:
    """The contact chosen to fill the template in for, None when none was chosen.

    404 when the id is not one of a contact the member may see: unknown, in
    the bin, of another organisation or hidden by record visibility.
    """
    given = request.GET.get("contact") or request.POST.get("contact")
    if not given:
        return None
    pk = as_pk(given)
    contact = (Contact.objects.filter(pk=pk, deleted_at__isnull=True).first()
               if pk is not None and can(request, "contacts.view") else None)
    if contact is None or not can_see(request.membership, contact, Area.CONTACTS):
        raise Http404(_("No contact with this id."))
    return contact


@permission_required("campaigns.view")
def template_detail(request, pk: int):
    template = _get(services.get_template, pk)
    contact = _preview_contact(request)
    query = request.GET.get("q", "").strip()
    can_see_contacts = can(request, "contacts.view")
    contacts = []
    if can_see_contacts:
        rows = visible(Contact.objects.filter(deleted_at__isnull=True).exclude(email=""),
                       request.membership, Area.CONTACTS)
        contacts = list(search_with_company(rows, query, request.membership)
                        .order_by("last_name", "first_name", "id")[:PREVIEW_CHOICES])
        if contact is not None and contact not in contacts:
            contacts.insert(0, contact)
    context = {"template": template, "contact": contact, "contacts": contacts,
               "query": query, "can_see_contacts": can_see_contacts}
    if request.htmx:
        return render(request, "marketing/template_detail.html#preview-contact", context)
    subject, _html, text = services.preview(request.organization, template, contact,
                                            request.membership)
    return render(request, "marketing/template_detail.html", {
        **context, "subject": subject, "text": text,
        "can_manage": can(request, "campaigns.manage"),
    })


@xframe_options_sameorigin
@permission_required("campaigns.view")
def template_preview(request, pk: int):
    """The filled-in HTML alone, for the sandboxed frame of the template page."""
    template = _get(services.get_template, pk)
    _subject, html, _text = services.preview(request.organization, template,
                                             _preview_contact(request), request.membership)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_POLICY
    return response


@require_POST
@permission_required("campaigns.manage")
def template_test_send(request, pk: int):
    template = _get(services.get_template, pk)
    contact = _preview_contact(request)
    address = services.send_test(request.organization, request.user, template, contact,
                                 request.membership)
    messages.success(request, _("A test e-mail went to %(address)s.") % {"address": address})
    target = template.get_absolute_url()
    return redirect(f"{target}?contact={contact.pk}" if contact else target)


@permission_required("campaigns.manage")
def template_delete(request, pk: int):
    return confirm_delete(request, _get(services.get_template, pk),
                          delete=services.delete_template, name="template",
                          template="marketing/template_delete.html",
                          done=_("Template deleted."), then="marketing:template_list")


# Campaigns


@permission_required("campaigns.view")
def campaign_list(request):
    params = request.GET

    def rows():
        found = _named(Campaign.objects.select_related("segment"), params)
        if params.get("status") in CampaignStatus.values:
            found = found.filter(status=params["status"])
        return found

    page, next_cursor, errors = list_page(params, rows, orderings=ORDERINGS,
                                          default="-created_at", limit=PAGE_SIZE)
    return render(request, "marketing/campaign_list.html", {
        "campaigns": page, "errors": errors, "filters": params,
        "statuses": CampaignStatus.choices, "can_manage": can(request, "campaigns.manage"),
        **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("campaigns.manage")
def campaign_create(request):
    form = CampaignForm(request.POST or None,
                        initial={"from_email": request.user.email})
    saved = save_form(request, form=form, template="marketing/campaign_form.html",
                      context={"campaign": None},
                      save=lambda form: services.create_campaign(
                          request.organization, request.user, data=form.service_data()))
    if isinstance(saved, Campaign):
        messages.success(request, _("Campaign saved."))
        return redirect(saved.get_absolute_url())
    return saved


@permission_required("campaigns.manage")
def campaign_edit(request, pk: int):
    campaign = _get(services.get_campaign, pk)
    if not campaign.is_editable:
        messages.error(request, _("This campaign has started; it can no longer change."))
        return redirect(campaign.get_absolute_url())
    initial = {"name": campaign.name, "template": campaign.template_id,
               "segment": campaign.segment_id, "from_name": campaign.from_name,
               "from_email": campaign.from_email, "scheduled_at": campaign.scheduled_at,
               "in_recipient_time_zone": campaign.in_recipient_time_zone,
               "subject_b": campaign.subject_b, "test_percent": campaign.test_percent,
               "test_hours": campaign.test_hours, "test_metric": campaign.test_metric,
               "version": campaign.version}
    form = CampaignForm(request.POST or None, initial=initial)
    saved = save_form(request, form=form, template="marketing/campaign_form.html",
                      context={"campaign": campaign},
                      save=lambda form: services.update_campaign(
                          request.organization, request.user, campaign,
                          data=form.service_data(),
                          expected_version=form.cleaned_data.get("version")))
    if isinstance(saved, Campaign):
        messages.success(request, _("Campaign saved."))
        return redirect(saved.get_absolute_url())
    return saved


@permission_required("campaigns.view")
def campaign_detail(request, pk: int):
    campaign = _get(services.get_campaign, pk)
    figures = reports.report(campaign, request.membership)
    reasons = dict(ExclusionReason.choices)
    problems = (through_contact(CampaignRecipient.objects.filter(
        campaign=campaign, status__in=[RecipientStatus.FAILED, RecipientStatus.BOUNCED]),
        request.membership).select_related("contact").order_by("id")[:PAGE_SIZE])
    return render(request, "marketing/campaign_detail.html", {
        "campaign": campaign, "report": figures,
        "excluded": [(reasons[key], count) for key, count in figures["excluded"].items()],
        "problems": problems, "can_manage": can(request, "campaigns.manage"),
        "can_see_contacts": can(request, "contacts.view"),
        "can_delete": services.can_delete_campaign(campaign),
    })


@require_POST
@permission_required("campaigns.manage")
def campaign_start(request, pk: int):
    campaign = _get(services.get_campaign, pk)
    try:
        services.start_campaign(request.organization, request.user, campaign,
                                expected_version=posted_version(request))
    except (StaleVersion, InvalidInput) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("The campaign is sending."))
    return redirect(campaign.get_absolute_url())


@require_POST
@permission_required("campaigns.manage")
def campaign_cancel(request, pk: int):
    campaign = _get(services.get_campaign, pk)
    try:
        services.cancel_campaign(request.organization, request.user, campaign,
                                 expected_version=posted_version(request))
    except (StaleVersion, InvalidInput) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("The campaign was stopped."))
    return redirect(campaign.get_absolute_url())


@permission_required("campaigns.manage")
def campaign_delete(request, pk: int):
    return confirm_delete(request, _get(services.get_campaign, pk),
                          delete=services.delete_campaign, name="campaign",
                          template="marketing/campaign_delete.html",
                          done=_("Campaign deleted."), then="marketing:campaign_list")


# Suppression list


@permission_required("campaigns.manage")
def suppression_list(request):
    params = request.GET
    form = SuppressionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.suppress_address(request.organization, request.user,
                                          form.cleaned_data["address"],
                                          reason=form.cleaned_data["reason"],
                                          note=form.cleaned_data.get("note") or "")
            except InvalidInput as exc:
                for error in exc.errors:
                    name = error["field"] if error["field"] in form.fields else None
                    form.add_error(name, error["message"])
            else:
                messages.success(request, _("The address will get no campaign e-mail."))
                return redirect("marketing:suppression_list")

    def rows():
        found = SuppressedAddress.objects.all()
        if params.get("q"):
            found = found.filter(address__icontains=params["q"].strip())
        return found

    page, next_cursor, errors = list_page(params, rows, orderings={"address": "address",
                                                                    "created_at": "created_at"},
                                          default="address", limit=PAGE_SIZE)
    return render(request, "marketing/suppression_list.html", {
        "entries": page, "errors": errors, "filters": params, "form": form,
        **pager(params, next_cursor),
    }, status=status if not errors else 422)


@require_POST
@permission_required("campaigns.manage")
def suppression_remove(request, pk: int):
    entry = SuppressedAddress.objects.filter(pk=as_pk(pk)).first()
    if entry is None:
        raise Http404(_("No such address on the list."))
    services.unsuppress_address(request.organization, request.user, entry)
    messages.success(request, _("The address was taken off the list."))
    return redirect("marketing:suppression_list")


def _message(exc) -> str:
    if isinstance(exc, InvalidInput) and exc.errors:
        return exc.errors[0]["message"]
    return exc.detail
