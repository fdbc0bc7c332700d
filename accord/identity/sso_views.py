"""Single sign-on: the admin's settings page, and signing in through the provider.

Views stay thin: the work is in `sso`; a service's InvalidInput goes back on
the field it names (422) and a failed sign-in is shown on the sign-in page
with a message that names what went wrong but none of the provider's answer.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.views import LogoutView
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.errors import InvalidInput, StaleVersion

from . import sso
from .models import Role
from .permissions import permission_required
from .views import add_service_errors, form_status


class SingleSignOnForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    enabled = forms.BooleanField(
        label=gettext_lazy("Allow sign-in with single sign-on"), required=False)
    issuer = forms.CharField(
        label=gettext_lazy("Issuer URL"), max_length=300, required=False,
        help_text=gettext_lazy("The provider's address, such as "
                               "https://login.example.com/realms/staff. Accord reads "
                               "/.well-known/openid-configuration under it."),
    )
    client_id = forms.CharField(label=gettext_lazy("Client id"), max_length=255,
                                required=False)
    client_secret = forms.CharField(
        label=gettext_lazy("Client secret"), required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("Stored encrypted and never shown again. Leave it empty to "
                               "keep the stored one."),
    )
    allowed_domains = forms.CharField(
        label=gettext_lazy("Allowed e-mail domains"), required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, such as example.com. Only people whose "
                               "verified address is in one of them may sign in."),
    )
    create_members = forms.BooleanField(
        label=gettext_lazy("Add new people on their first sign-in"), required=False,
        help_text=gettext_lazy("Otherwise only existing members may sign in this way."),
    )
    new_member_role = forms.ChoiceField(
        label=gettext_lazy("Role of new people"),
        choices=[(role, Role(role).label) for role in sso.NEW_MEMBER_ROLES],
    )
    require_sso = forms.BooleanField(
        label=gettext_lazy("Require single sign-on"), required=False,
        help_text=gettext_lazy("Members other than admins can no longer sign in here with "
                               "a password. API tokens keep working."),
    )

    def to_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version")
        return data


def _initial(config) -> dict:
    return {"version": config.version, "enabled": config.enabled, "issuer": config.issuer,
            "client_id": config.client_id,
            "allowed_domains": "\n".join(config.allowed_domains),
            "create_members": config.create_members,
            "new_member_role": config.new_member_role, "require_sso": config.require_sso}


def _redirect_uri(request) -> str:
    return request.build_absolute_uri(reverse("identity:sso_callback"))


@permission_required("settings.manage")
def sso_settings(request):
    org = request.organization
    config = sso.configuration_of(org)
    form = SingleSignOnForm(request.POST or None, initial=_initial(config))
    status = None
    provider = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "test":
                provider = sso.check_provider(form.cleaned_data["issuer"])
            else:
                sso.update_single_sign_on(org, request.user, data=form.to_data(),
                                          expected_version=form.cleaned_data["version"])
        except StaleVersion as exc:
            form.add_error(None, exc.detail)
            status = 409
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            if provider is None:
                messages.success(request, _("Single sign-on settings are saved."))
                return redirect("identity:sso_settings")
    context = {"form": form, "config": config, "provider": provider,
               "redirect_uri": _redirect_uri(request)}
    return render(request, "identity/singlesignon_form.html", context,
                  status=status or form_status(form))


class SingleSignOnStartForm(forms.Form):
    organization = forms.CharField(
        label=gettext_lazy("Organisation or work e-mail"), max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "email"}),
        help_text=gettext_lazy("Your organisation's short name, or your work e-mail "
                               "address."),
    )


def _safe_next(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return reverse("core:home")


def sso_start(request):
    """Ask for the organisation, then send the browser to its provider."""
    form = SingleSignOnStartForm(request.POST or None)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST" and form.is_valid():
        try:
            org = sso.find_organization(form.cleaned_data["organization"])
            url = sso.begin_sign_in(request, org, redirect_uri=_redirect_uri(request),
                                    next_url=next_url)
        except sso.SignInFailed as exc:
            form.add_error("organization", exc.message)
        else:
            # A page that moves on by itself rather than a redirect: the
            # Content-Security-Policy's form-action keeps a form's answer
            # from redirecting to another site, the provider included.
            return render(request, "identity/login_sso_redirect.html", {"url": url})
    return render(request, "identity/login_sso.html", {"form": form, "next": next_url},
                  status=form_status(form))


def sso_callback(request):
    """Where the provider sends the browser back; signs the person in or says why not."""
    try:
        membership, next_url, sign_out = sso.complete_sign_in(
            request, request.GET, redirect_uri=_redirect_uri(request))
    except sso.SignInFailed as exc:
        context = {"form": SingleSignOnStartForm(), "error": exc.message,
                   "next": reverse("core:home")}
        return render(request, "identity/login_sso.html", context, status=400)
    sso.sign_in(request, membership, sign_out=sign_out)
    return redirect(_safe_next(request, next_url))


class SignOutView(LogoutView):
    """Sign out of Accord and, for a session begun at a provider that offers it, at the
    provider too, which then sends the browser back to Accord's sign-in page."""

    def post(self, request, *args, **kwargs):
        sign_out = request.session.get(sso.SIGN_OUT_KEY)
        response = super().post(request, *args, **kwargs)
        at_provider = sso.provider_sign_out_url(
            sign_out, return_to=request.build_absolute_uri(reverse("identity:login")))
        return redirect(at_provider) if at_provider else response
