"""Adding, editing, ending and deleting a contact's relationships, and the organisation's
own relationship roles under Settings."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.customers import services as customers
from accord.customers.models import Contact
from accord.errors import Conflict, NotFound
from accord.identity.permissions import permission_required
from accord.identity.visibility import require_visible, visible
from accord.web import save_form

from . import services
from .forms import RelationshipForm, RoleForm
from .models import BUILTIN_ROLES, RelationshipRole


def _contact(request, pk) -> Contact:
    return require_visible(request.membership, customers.get_contact(pk), "contacts")


def _back(contact: Contact) -> str:
    return contact.get_absolute_url() + "#relationships"


def _related_id(request, text: str):
    """The id of the contact the member typed, by id or e-mail address; the text itself
    when nobody matches, so the service names the field."""
    text = text.strip()
    if text.isdigit():
        return text
    match = visible(Contact.objects.filter(email__iexact=text), request.membership,
                    "contacts").first()
    return match.pk if match else text


@permission_required("contacts.change")
def relationship_add(request, pk: int):
    contact = _contact(request, pk)
    form = RelationshipForm(request.POST or None, roles=services.roles())

    def save(form):
        data = form.to_data()
        data["related"] = _related_id(request, data["related"])
        services.add_relationship(request.organization, request.user, request.membership,
                                  contact, data=data)
        messages.success(request, _("Relationship added."))
        return redirect(_back(contact))

    return save_form(request, form=form, template="relationships/relationship_form.html",
                     context={"contact": contact, "relationship": None}, save=save)


@permission_required("contacts.change")
def relationship_edit(request, pk: int, relationship_id: int):
    contact = _contact(request, pk)
    relationship = _relationship(request, contact, relationship_id)
    initial = {"role": relationship.role, "started_on": relationship.started_on,
               "ended_on": relationship.ended_on, "note": relationship.note,
               "version": relationship.version}
    form = RelationshipForm(request.POST or None, roles=services.roles(), editing=True,
                            initial=initial)

    def save(form):
        services.update_relationship(request.organization, request.user, request.membership,
                                     relationship, data=form.to_data(),
                                     expected_version=form.expected_version())
        messages.success(request, _("Relationship saved."))
        return redirect(_back(contact))

    return save_form(request, form=form, template="relationships/relationship_form.html",
                     context={"contact": contact, "relationship": relationship,
                              "other": services.other_side(relationship, contact)},
                     save=save)


def _relationship(request, contact, relationship_id):
    try:
        return services.get_relationship(request.membership, contact, relationship_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("contacts.change")
@require_POST
def relationship_end(request, pk: int, relationship_id: int):
    contact = _contact(request, pk)
    relationship = _relationship(request, contact, relationship_id)
    services.end_relationship(request.organization, request.user, request.membership,
                              relationship)
    messages.success(request, _("Relationship ended; it stays in the list as history."))
    return redirect(_back(contact))


@permission_required("contacts.change")
@require_POST
def relationship_delete(request, pk: int, relationship_id: int):
    contact = _contact(request, pk)
    relationship = _relationship(request, contact, relationship_id)
    services.delete_relationship(request.organization, request.user, relationship)
    messages.success(request, _("Relationship deleted."))
    return redirect(_back(contact))


@permission_required("settings.manage")
def role_list(request):
    form = RoleForm(request.POST or None)

    def save(form):
        services.save_role(request.organization, request.user, data=form.cleaned_data)
        messages.success(request, _("Role added."))
        return redirect(reverse("relationships:roles"))

    return save_form(request, form=form, template="relationships/relationshiprole_list.html",
                     context={"builtin": [(str(label), str(inverse)) for label, inverse
                                          in BUILTIN_ROLES.values()],
                              "roles": [(role, services.role_in_use(role))
                                        for role in RelationshipRole.objects.all()]},
                     save=save)


@permission_required("settings.manage")
@require_POST
def role_delete(request, role_id: int):
    try:
        role = services.get_role(role_id)
        services.delete_role(request.organization, request.user, role)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Role deleted."))
    return redirect(reverse("relationships:roles"))
