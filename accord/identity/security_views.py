"""Two-factor sign-in, the list of signed-in sessions, and the organisation's 2FA rule.

Views stay thin: the work is in `twofactor` and `sessions`, and a service's
InvalidInput goes back on the form field it names, answering 422.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput

from . import sessions, throttle, twofactor
from .forms import (
    ConfirmCodeForm,
    ProveIdentityForm,
    SignInCodeForm,
    TwoFactorRequirementForm,
    proof_locked_message,
)
from .permissions import permission_required
from .views import add_service_errors, form_status

FEW_RECOVERY_CODES = 3  # time to make new ones before the last is gone


def sign_in_code(request):
    """The second step of signing in, for a user whose password was right."""
    user = twofactor.held_user(request)
    if user is None:
        messages.info(request, _("Sign in again: the time for entering the code ran out."))
        return redirect("identity:login")
    form = SignInCodeForm(request.POST or None, request=request, user=user)
    if request.method == "POST" and form.is_valid():
        next_url = twofactor.release_sign_in(request)
        login(request, user, backend=user.backend)
        left = twofactor.remaining_recovery_codes(user)
        if left < FEW_RECOVERY_CODES:
            messages.warning(request, ngettext(
                "You have %(count)d recovery code left. Make new ones under Two-factor "
                "sign-in.",
                "You have %(count)d recovery codes left. Make new ones under Two-factor "
                "sign-in.",
                left,
            ) % {"count": left})
        return redirect(next_url)
    return render(request, "identity/login_code.html", {"form": form},
                  status=form_status(form))


@login_required
def two_factor(request):
    """Two-factor status: set-up with the QR code, or new codes and switching it off."""
    user = request.user
    device = twofactor.pending_device(user)
    confirm_form = ConfirmCodeForm(request.POST or None)
    if request.method == "POST":
        if device is None:
            return redirect("identity:two_factor")
        if confirm_form.is_valid():
            try:
                codes = twofactor.confirm_two_factor(user, code=confirm_form.cleaned_data["code"])
            except InvalidInput as exc:
                add_service_errors(confirm_form, exc)
            else:
                return _show_recovery_codes(request, codes, _("Two-factor sign-in is on."))
    context = {
        "enabled": twofactor.two_factor_enabled(user),
        "device": device,
        "confirm_form": confirm_form,
        "prove_form": ProveIdentityForm(),
        "remaining": twofactor.remaining_recovery_codes(user),
        "required": request.organization is not None
        and request.organization.require_two_factor,
    }
    if device is not None:
        context["qr_svg"] = twofactor.qr_code_svg(device)
        context["secret"] = device.secret
    return render(request, "identity/two_factor.html", context,
                  status=form_status(confirm_form))


@login_required
@require_POST
def two_factor_start(request):
    try:
        twofactor.begin_two_factor(request.user)
    except InvalidInput as exc:
        messages.info(request, exc.errors[0]["message"])
    return redirect("identity:two_factor")


@login_required
@require_POST
def recovery_codes_regenerate(request):
    form = ProveIdentityForm(request.POST)
    try:
        codes = _with_proof(request, form, twofactor.regenerate_recovery_codes)
    except InvalidInput as exc:
        return _prove_failed(request, form, exc)
    return _show_recovery_codes(request, codes, _("New recovery codes are made; the old "
                                                  "ones no longer work."))


@login_required
@require_POST
def two_factor_disable(request):
    form = ProveIdentityForm(request.POST)
    try:
        _with_proof(request, form, twofactor.disable_two_factor)
    except InvalidInput as exc:
        return _prove_failed(request, form, exc)
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("identity:two_factor")


def _with_proof(request, form, change):
    """Make `change` with the code or password on the form as proof, under the sign-in
    lock-out: while the user's address is locked nothing is checked, not even a right
    proof, and each wrong one (a code and a password sent together are two guesses)
    counts as a failed sign-in. Raises InvalidInput.

    The failures are written after the change's transaction has rolled back, so they
    stay.
    """
    form.is_valid()
    user, ip = request.user, request.META.get("REMOTE_ADDR", "")
    wait = throttle.locked_for(user.email, ip)
    if wait is not None:
        raise InvalidInput({NON_FIELD_ERRORS: proof_locked_message(wait)})
    try:
        return change(user, **form.cleaned_data)
    except twofactor.WrongProof:
        for value in (form.cleaned_data.get("code"), form.cleaned_data.get("password")):
            if value:
                throttle.record_failure(user.email, ip)
        raise


def _prove_failed(request, form, exc: InvalidInput):
    add_service_errors(form, exc)
    context = {
        "enabled": twofactor.two_factor_enabled(request.user), "device": None,
        "confirm_form": ConfirmCodeForm(), "prove_form": form,
        "remaining": twofactor.remaining_recovery_codes(request.user),
    }
    return render(request, "identity/two_factor.html", context, status=422)


def _show_recovery_codes(request, codes: list[str], notice: str):
    # Rendered straight into this response and never stored in the clear,
    # so the codes exist only on this one page view.
    context = {"codes": codes, "notice": notice}
    return render(request, "identity/two_factor_recovery_codes.html", context)


@login_required
def session_list(request):
    context = {"sessions": sessions.active_sessions(request.user),
               "current_key": request.session.session_key}
    return render(request, "identity/usersession_list.html", context)


@login_required
@require_POST
def session_end(request, pk: int):
    if not sessions.end_session(request, pk):
        raise Http404
    messages.success(request, _("That session is signed out."))
    return redirect("identity:session_list")


@login_required
@require_POST
def sessions_end_others(request):
    sessions.end_other_sessions(request)
    messages.success(request, _("Every other session is signed out. This one goes on."))
    return redirect("identity:session_list")


@permission_required("settings.manage")
def organization_security(request):
    org = request.organization
    form = TwoFactorRequirementForm(
        request.POST or None, initial={"require_two_factor": org.require_two_factor}
    )
    if request.method == "POST" and form.is_valid():
        twofactor.set_two_factor_requirement(
            org, request.user, required=form.cleaned_data["require_two_factor"]
        )
        if org.require_two_factor:
            messages.success(request, _("Members now need two-factor sign-in."))
        else:
            messages.success(request, _("Two-factor sign-in is now up to each member."))
        return redirect("identity:organization_security")
    return render(request, "identity/organization_security.html", {"form": form},
                  status=form_status(form))
