"""Settings → Roles & visibility: which records each role sees in each area."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.errors import InvalidInput, StaleVersion

from . import visibility
from .models import Area, Role, Scope
from .permissions import permission_required
from .views import form_status


def _name(role: str, area: str) -> str:
    return f"{role}__{area}"


class VisibilityForm(forms.Form):
    """One select per configurable role and area, and the version the table was read at."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for role in visibility.CONFIGURABLE_ROLES:
            for area in visibility.AREAS:
                self.fields[_name(role, area)] = forms.ChoiceField(
                    label=gettext_lazy("%(role)s: %(area)s") % {
                        "role": Role(role).label, "area": Area(area).label},
                    choices=[(scope, Scope(scope).label)
                             for scope in visibility.ROLE_SCOPES[role]],
                )

    def rows(self) -> list[tuple]:
        return [(Role(role).label, [self[_name(role, area)] for area in visibility.AREAS])
                for role in visibility.CONFIGURABLE_ROLES]

    def to_roles(self) -> dict:
        return {role: {area: self.cleaned_data[_name(role, area)]
                       for area in visibility.AREAS}
                for role in visibility.CONFIGURABLE_ROLES}


def _initial(policy) -> dict:
    initial = {"version": policy.version}
    for role, cells in visibility.table(policy).items():
        for area, scope in cells.items():
            initial[_name(role, area)] = scope
    return initial


@permission_required("settings.manage")
def visibility_edit(request):
    org = request.organization
    form = VisibilityForm(request.POST or None, initial=_initial(visibility.policy_of(org)))
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            visibility.update_visibility(org, request.user, roles=form.to_roles(),
                                         expected_version=form.cleaned_data["version"])
        except StaleVersion as exc:
            form.add_error(None, exc.detail)
            status = 409
        except InvalidInput as exc:
            for error in exc.errors:
                form.add_error(None, error["message"])
        else:
            messages.success(request, _("Record visibility is saved. It applies from the "
                                        "next page each member opens."))
            return redirect("identity:visibility_edit")
    return render(request, "identity/visibility_form.html",
                  {"form": form, "areas": [Area(area).label for area in visibility.AREAS]},
                  status=status or form_status(form))
