"""Settings pages where an admin defines the custom fields of contacts and companies.

Routed from the identity settings (`/settings/custom-fields/...`); writes go
through the custom field services, which also write the audit trail.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.customers import services
from accord.errors import InvalidInput
from accord.identity.permissions import permission_required
from accord.identity.views import add_service_errors, form_status

from .models import CustomField, Entity
from .settings_forms import CustomFieldForm


@permission_required("custom_fields.manage")
def customfield_list(request):
    fields = list(CustomField.objects.order_by("position", "id"))
    sections = [
        {"entity": value, "label": label,
         "fields": [field for field in fields if field.entity == value]}
        for value, label in Entity.choices
    ]
    return render(request, "customers/customfield_list.html", {"sections": sections})


@permission_required("custom_fields.manage")
def customfield_create(request):
    entity = request.GET.get("entity")
    initial = {"entity": entity if entity in Entity.values else Entity.CONTACT}
    form = CustomFieldForm(request.POST or None, initial=initial, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.create_custom_field(
                request.organization, request.user, data=form.service_data()
            )
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The field %(label)s is added.") % {"label": field.label})
            return redirect("identity:customfield_list")
    return render(request, "customers/customfield_form.html", {"form": form, "field": None},
                  status=form_status(form))


@permission_required("custom_fields.manage")
def customfield_edit(request, pk: int):
    field = get_object_or_404(CustomField.objects, pk=pk)
    initial = {
        "label": field.label, "choices": "\n".join(field.choices), "currency": field.currency,
        "required": field.required, "help_text": field.help_text, "position": field.position,
        "hidden_from_roles": field.hidden_from_roles, "encrypted": field.encrypted,
    }
    form = CustomFieldForm(request.POST or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        was_encrypted = field.encrypted
        try:
            services.update_custom_field(
                request.organization, request.user, field, data=form.service_data()
            )
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The field %(label)s is saved.") % {"label": field.label})
            if field.encrypted != was_encrypted:
                messages.info(request, _("Its stored values are being encrypted in the "
                                         "background.") if field.encrypted else
                              _("Its stored values are being decrypted in the background."))
            return redirect("identity:customfield_list")
    return render(request, "customers/customfield_form.html", {"form": form, "field": field},
                  status=form_status(form))


@permission_required("custom_fields.manage")
def customfield_deactivate(request, pk: int):
    field = get_object_or_404(CustomField.objects, pk=pk)
    if request.method == "POST":
        services.set_custom_field_active(request.organization, request.user, field,
                                         active=False)
        messages.success(request, _("The field %(label)s is deactivated.")
                         % {"label": field.label})
        return redirect("identity:customfield_list")
    return render(request, "customers/customfield_confirm_deactivate.html", {"field": field})


@permission_required("custom_fields.manage")
@require_POST
def customfield_reactivate(request, pk: int):
    field = get_object_or_404(CustomField.objects, pk=pk)
    services.set_custom_field_active(request.organization, request.user, field, active=True)
    messages.success(request, _("The field %(label)s is active again.") % {"label": field.label})
    return redirect("identity:customfield_list")
