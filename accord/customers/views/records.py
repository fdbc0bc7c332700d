"""Contact and company record pages, their forms, delete, consent and affiliations."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.activities.timeline import timeline_context
from accord.audit.history import field_history
from accord.errors import NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import can_see, require_visible, visible

from .. import custom_fields as custom_field_defs
from .. import services
from ..forms import AffiliationForm, CompanyForm, ConsentForm, ContactForm
from ..models import (
    Affiliation,
    Company,
    Contact,
    Entity,
)
from .columns import custom_cell
from .common import can, save_form

OTHER_CONTACTS_SHOWN = 20  # the record page lists a few; the company page has them all


def _custom_values(record, fields) -> list[tuple]:
    return [(custom, custom_cell(custom, record.custom_fields.get(custom.key)))
            for custom in fields]


def _contact(request, pk) -> Contact:
    """The contact, when the member may see it; a hidden one is not found."""
    return require_visible(request.membership, services.get_contact(pk), "contacts")


def _company(request, pk) -> Company:
    return require_visible(request.membership, services.get_company(pk), "companies")


def _render_contact(request, contact: Contact, *, consent_form=None, affiliation_form=None,
                    status=200):
    fields = custom_field_defs.active_fields(Entity.CONTACT, request.membership)
    membership = request.membership
    companies_seen = visible(Company.objects.all(), membership, "companies").values("pk")
    affiliations = list(
        contact.affiliations.select_related("company").filter(company__deleted_at__isnull=True,
                                                               company__in=companies_seen)
    )
    colleagues = []
    if contact.company_id:
        colleagues = list(
            visible(Contact.objects.filter(company_id=contact.company_id), membership,
                    "contacts")
            .exclude(pk=contact.pk).order_by("last_name", "first_name", "id")
            [:OTHER_CONTACTS_SHOWN]
        )
    context = {
        "contact": contact,
        # A company hidden from the reader is shown by its kind alone.
        "company_seen": contact.company_id is None
        or can_see(membership, contact.company, "companies"),
        "emails": list(contact.emails.all()),
        "phones": list(contact.phones.all()),
        "affiliations": affiliations,
        "tags": [link.tag for link in contact.tag_links.select_related("tag")
                 .order_by("tag__name")],
        "stage_changes": list(contact.lifecycle_changes.select_related("changed_by")[:20]),
        "custom_values": _custom_values(contact, fields),
        "consents": services.current_consents(contact),
        "consent_form": consent_form or ConsentForm(),
        "affiliation_form": affiliation_form or AffiliationForm(viewer=membership),
        "colleagues": colleagues,
        "can_change": can(request, "contacts.change"),
        "can_delete": can(request, "contacts.delete"),
        "history": field_history("contact", contact.pk, viewer=request.membership),
    }
    context.update(timeline_context(request, contact=contact))
    return render(request, "customers/contact_detail.html", context, status=status)


@permission_required("contacts.view")
def contact_detail(request, pk: int):
    contact = _contact(request, pk)
    return _render_contact(request, contact)


@permission_required("contacts.add")
def contact_create(request):
    form = ContactForm(
        request.POST or None, org=request.organization, viewer=request.membership,
        custom_fields=custom_field_defs.active_fields(Entity.CONTACT, request.membership),
        initial={"owner": request.user.pk, "company": request.GET.get("company")},
    )

    def save(form):
        contact = services.create_contact(request.organization, request.user,
                                          data=form.to_data())
        messages.success(request, _("Contact “%(name)s” created.") % {"name": contact})
        return redirect(contact)

    return save_form(request, form=form, template="customers/contact_form.html",
                        context={"contact": None}, save=save)


@permission_required("contacts.change")
def contact_edit(request, pk: int):
    contact = _contact(request, pk)
    form = ContactForm(request.POST or None, org=request.organization,
                       viewer=request.membership, instance=contact,
                       custom_fields=custom_field_defs.active_fields(Entity.CONTACT,
                                                                     request.membership))

    def save(form):
        services.update_contact(request.organization, request.user, contact,
                                data=form.to_data(), expected_version=form.expected_version())
        messages.success(request, _("Changes saved."))
        return redirect(contact)

    return save_form(request, form=form, template="customers/contact_form.html",
                        context={"contact": contact}, save=save)


def _delete(request, record, *, delete, list_url: str):
    """GET asks for confirmation; POST moves the record to the trash."""
    template = "customers/record_confirm_delete.html"
    context = {"record": record, "list_url": reverse(list_url)}
    if request.method != "POST":
        return render(request, template, context)
    try:
        delete(record, request.POST.get("version") or None)
    except StaleVersion as exc:
        context["error"] = exc.detail
        return render(request, template, context, status=409)
    messages.success(request, _("“%(name)s” moved to the trash. It can be restored from the "
                                "trash for 30 days.") % {"name": record})
    return redirect(list_url)


@permission_required("contacts.delete")
def contact_delete(request, pk: int):
    contact = _contact(request, pk)
    return _delete(
        request, contact,
        list_url="customers:contact_list",
        delete=lambda record, version: services.delete_contact(
            request.organization, request.user, record, expected_version=version),
    )


@require_POST
@permission_required("contacts.change")
def contact_consent(request, pk: int):
    contact = _contact(request, pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _render_contact(request, contact, consent_form=form, status=422)
    services.record_consent(request.organization, request.user, contact,
                            **form.cleaned_data)
    messages.success(request, _("Consent recorded."))
    return redirect(reverse("customers:contact_detail", args=[contact.pk]) + "#consent")


@require_POST
@permission_required("contacts.change")
def contact_affiliation_add(request, pk: int):
    contact = _contact(request, pk)
    form = AffiliationForm(request.POST, viewer=request.membership)
    if not form.is_valid():
        return _render_contact(request, contact, affiliation_form=form, status=422)
    company = services.get_company(form.cleaned_data["company"])
    services.add_affiliation(request.organization, request.user, contact, company,
                             title=form.cleaned_data["title"],
                             is_primary=form.cleaned_data["is_primary"])
    messages.success(request, _("Linked to “%(company)s”.") % {"company": company})
    return redirect(reverse("customers:contact_detail", args=[contact.pk]) + "#affiliations")


@require_POST
@permission_required("contacts.change")
def contact_affiliation_remove(request, pk: int, affiliation_pk: int):
    contact = _contact(request, pk)
    affiliation = (
        Affiliation.objects.select_related("company", "contact")
        .filter(pk=affiliation_pk, contact=contact).first()
    )
    if affiliation is None:
        raise NotFound("No affiliation with this id.")
    services.remove_affiliation(request.organization, request.user, affiliation)
    messages.success(request, _("Link to “%(company)s” removed.")
                     % {"company": affiliation.company})
    return redirect(reverse("customers:contact_detail", args=[contact.pk]) + "#affiliations")


# Companies


@permission_required("companies.view")
def company_detail(request, pk: int):
    company = _company(request, pk)
    fields = custom_field_defs.active_fields(Entity.COMPANY, request.membership)
    membership = request.membership
    contacts_seen = visible(Contact.objects.all(), membership, "contacts")
    people = list(
        Affiliation.objects.filter(company=company, contact__deleted_at__isnull=True,
                                   contact__in=contacts_seen.values("pk"))
        .select_related("contact").order_by("contact__last_name", "contact__first_name", "id")
    )
    linked = {affiliation.contact_id for affiliation in people}
    unlinked = list(
        contacts_seen.filter(company=company).exclude(pk__in=linked)
        .order_by("last_name", "first_name", "id")
    )
    context = {
        "company": company,
        "people": people,
        "unlinked": unlinked,
        "subsidiaries": list(visible(Company.objects.filter(parent=company), membership,
                                     "companies").order_by("name", "id")),
        "parent": company.parent if company.parent_id and company.parent.deleted_at is None
        else None,
        "parent_seen": company.parent_id is None
        or can_see(membership, company.parent, "companies"),
        "tags": [link.tag for link in company.tag_links.select_related("tag")
                 .order_by("tag__name")],
        "custom_values": _custom_values(company, fields),
        "can_change": can(request, "companies.change"),
        "can_delete": can(request, "companies.delete"),
        "can_add_contact": can(request, "contacts.add"),
        "history": field_history("company", company.pk, viewer=request.membership),
    }
    context.update(timeline_context(request, company=company))
    return render(request, "customers/company_detail.html", context)


@permission_required("companies.add")
def company_create(request):
    form = CompanyForm(request.POST or None, org=request.organization,
                       viewer=request.membership,
                       custom_fields=custom_field_defs.active_fields(Entity.COMPANY,
                                                                     request.membership),
                       initial={"owner": request.user.pk})

    def save(form):
        company = services.create_company(request.organization, request.user,
                                          data=form.to_data())
        messages.success(request, _("Company “%(name)s” created.") % {"name": company})
        return redirect(company)

    return save_form(request, form=form, template="customers/company_form.html",
                        context={"company": None}, save=save)


@permission_required("companies.change")
def company_edit(request, pk: int):
    company = _company(request, pk)
    form = CompanyForm(request.POST or None, org=request.organization,
                       viewer=request.membership, instance=company,
                       custom_fields=custom_field_defs.active_fields(Entity.COMPANY,
                                                                     request.membership))

    def save(form):
        services.update_company(request.organization, request.user, company,
                                data=form.to_data(), expected_version=form.expected_version())
        messages.success(request, _("Changes saved."))
        return redirect(company)

    return save_form(request, form=form, template="customers/company_form.html",
                        context={"company": company}, save=save)


@permission_required("companies.delete")
def company_delete(request, pk: int):
    company = _company(request, pk)
    return _delete(
        request, company,
        list_url="customers:company_list",
        delete=lambda record, version: services.delete_company(
            request.organization, request.user, record, expected_version=version),
    )

