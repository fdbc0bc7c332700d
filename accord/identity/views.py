"""Signing in and out, the profile, and the organisation's members, teams and tokens.

Views stay thin: they check the permission, hand the input to a service and
put a service's InvalidInput back on the form, answering 422.
"""

import logging

from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion
from accord.pagination import paginate, parse_ordering
from accord.web import apply_errors, pager

from . import services, sessions, sso, twofactor
from .forms import (
    AcceptInvitationForm,
    InvitationForm,
    MembershipForm,
    PasswordChangeForm,
    ProfileForm,
    ResetRequestForm,
    SignInForm,
    TeamForm,
    TokenEditForm,
    TokenForm,
)
from .middleware import SESSION_ORG_KEY
from .models import ApiToken, Invitation, Membership, Role, Team
from .permissions import has_permission, permission_required

logger = logging.getLogger(__name__)
User = get_user_model()


def add_service_errors(form, exc: InvalidInput) -> None:
    """Put each of the service's messages on its form field, or on the form."""
    for error in exc.errors:
        field = error["field"] if error["field"] in form.fields else None
        form.add_error(field, error["message"])


def form_status(form) -> int:
    return 422 if form.is_bound and form.errors else 200


# Signing in and out, and resetting a password.

class SignInView(auth_views.LoginView):
    template_name = "identity/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not twofactor.two_factor_enabled(user):
            return super().form_valid(form)
        # The session stays anonymous until the second step accepts a code.
        twofactor.hold_sign_in(self.request, user, next_url=self.get_success_url())
        return redirect("identity:login_code")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=422)


class ResetRequestView(auth_views.PasswordResetView):
    form_class = ResetRequestForm
    template_name = "identity/password_reset_form.html"
    email_template_name = "identity/email/password_reset.txt"
    subject_template_name = "identity/email/password_reset_subject.txt"
    success_url = reverse_lazy("identity:password_reset_done")


class ResetSentView(auth_views.PasswordResetDoneView):
    template_name = "identity/password_reset_done.html"


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "identity/password_reset_confirm.html"
    success_url = reverse_lazy("identity:password_reset_complete")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=422)


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "identity/password_reset_complete.html"


# The user's own profile.

def _active_memberships(user):
    # A user's memberships span organisations, so this one query is unscoped
    # on purpose; it is limited to the signed-in user's own rows.
    return (
        Membership.unscoped.select_related("organization")
        .filter(user=user, is_active=True)
        .order_by("organization__name")
    )


@login_required
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={"full_name": user.full_name, "time_zone": user.time_zone},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(user, **form.cleaned_data)
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("identity:profile")
    context = {"form": form, "memberships": _active_memberships(user)}
    return render(request, "identity/user_profile.html", context, status=form_status(form))


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "identity/user_password.html"
    success_url = reverse_lazy("identity:profile")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        sessions.end_other_sessions(self.request)
        messages.success(self.request, _("Your password is changed. Other sessions are "
                                         "signed out."))
        return response

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=422)


@login_required
@require_POST
def sign_out_everywhere(request):
    services.sign_out_everywhere(request.user)
    logger.info("user.signed_out_everywhere", extra={"user_id": request.user.pk})
    logout(request)
    messages.success(request, _("You are signed out on every device. Sign in again to "
                                "continue."))
    return redirect("identity:login")


@login_required
@require_POST
def switch_organization(request):
    membership = sso.reachable_memberships(
        request.session, _active_memberships(request.user)
    ).filter(organization_id=_int_or_none(request.POST.get("organization"))).first()
    if membership is None:
        raise Http404
    request.session[SESSION_ORG_KEY] = membership.organization_id
    messages.success(request, _("You are now working in %(organization)s.")
                     % {"organization": membership.organization.name})
    return redirect("core:home")


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# The organisation's settings.

@login_required
def settings_index(request):
    context = {"memberships": _active_memberships(request.user)}
    return render(request, "identity/organization_settings.html", context)


@permission_required("members.manage")
def member_list(request):
    memberships = Membership.objects.select_related("user", "team").order_by(
        "-is_active", "user__full_name", "user__email"
    )
    query = request.GET.get("q", "").strip()
    if query:
        memberships = memberships.filter(
            Q(user__full_name__icontains=query) | Q(user__email__icontains=query)
        )
    role = request.GET.get("role", "")
    if role in Role.values:
        memberships = memberships.filter(role=role)
    status = request.GET.get("status", "")
    if status in ("active", "inactive"):
        memberships = memberships.filter(is_active=status == "active")
    invitations = Invitation.objects.select_related("team", "invited_by").filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    context = {
        "memberships": memberships, "invitations": invitations, "query": query,
        "role": role, "status": status, "roles": Role.choices,
        "filtered": bool(query or role in Role.values or status in ("active", "inactive")),
    }
    if request.htmx:
        return render(request, "identity/membership_list.html#members-table", context)
    return render(request, "identity/membership_list.html", context)


@permission_required("members.manage")
def member_invite(request):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_member(
                request.organization, request.user, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], team=form.cleaned_data["team"],
                accept_url_template=_accept_url_template(request),
            )
        except InvalidInput as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error("email", exc.detail)
        else:
            if invitation.mail_sent is False:
                messages.warning(request, _(
                    "The invitation is saved, but the e-mail to %(email)s could not be sent. "
                    "Send them this link yourself: %(url)s"
                ) % {"email": invitation.email, "url": invitation.accept_url})
            else:
                messages.success(request, _("Invitation sent to %(email)s.")
                                 % {"email": form.cleaned_data["email"]})
            return redirect("identity:member_list")
    return render(request, "identity/invitation_form.html", {"form": form},
                  status=form_status(form))


def _accept_url_template(request) -> str:
    placeholder = "INVITATIONTOKEN"
    url = request.build_absolute_uri(reverse("identity:invitation_accept", args=[placeholder]))
    head, _sep, tail = url.rpartition(placeholder)
    return head + "{token}" + tail


@permission_required("members.manage")
@require_POST
def invitation_revoke(request, pk: int):
    invitation = get_object_or_404(Invitation.objects, pk=pk)
    services.revoke_invitation(request.organization, request.user, invitation)
    messages.success(request, _("The invitation to %(email)s is revoked.")
                     % {"email": invitation.email})
    return redirect("identity:member_list")


@permission_required("members.manage")
def member_edit(request, pk: int):
    membership = get_object_or_404(Membership.objects.select_related("user", "team"), pk=pk)
    form = MembershipForm(
        request.POST or None, initial={"role": membership.role, "team": membership.team}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.change_role(
                request.organization, request.user, membership,
                role=form.cleaned_data["role"], team=form.cleaned_data["team"],
            )
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(member)s is saved.") % {"member": membership.user})
            return redirect("identity:member_list")
    context = {"form": form, "membership": membership}
    return render(request, "identity/membership_form.html", context, status=form_status(form))


@permission_required("members.manage")
def member_deactivate(request, pk: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.change_role(request.organization, request.user, membership,
                                 role=membership.role, is_active=False)
        except InvalidInput as exc:
            error = exc.errors[0]["message"]
        else:
            messages.success(request, _("%(member)s is deactivated.")
                             % {"member": membership.user})
            return redirect("identity:member_list")
    context = {"membership": membership, "error": error}
    return render(request, "identity/membership_confirm_deactivate.html", context,
                  status=422 if error else 200)


@permission_required("members.manage")
@require_POST
def member_reactivate(request, pk: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    services.change_role(request.organization, request.user, membership,
                         role=membership.role, is_active=True)
    messages.success(request, _("%(member)s is active again.") % {"member": membership.user})
    return redirect("identity:member_list")


# Accepting an invitation: open to anyone holding the link.

def invitation_accept(request, token: str):
    try:
        invitation = services.find_invitation(token)
    except NotFound:
        return render(request, "identity/invitation_invalid.html", status=404)
    user = request.user if request.user.is_authenticated else None
    account_exists = User.objects.filter(email=invitation.email).exists()
    form = None
    if user is None and not account_exists:
        form = AcceptInvitationForm(request.POST or None, email=invitation.email)

    if request.method == "POST":
        if user is not None and user.email == invitation.email:
            services.accept_invitation(invitation, user=user)
            return _joined(request, invitation)
        if form is not None and form.is_valid():
            membership = services.accept_invitation(
                invitation, full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
            login(request, membership.user,
                  backend="django.contrib.auth.backends.ModelBackend")
            return _joined(request, invitation)

    context = {
        "invitation": invitation, "form": form, "account_exists": account_exists,
        "wrong_user": user is not None and user.email != invitation.email,
        "login_url": reverse("identity:login") + "?" + urlencode({"next": request.path}),
    }
    status = 422 if form is not None and form.is_bound and form.errors else 200
    return render(request, "identity/invitation_accept.html", context, status=status)


def _joined(request, invitation):
    request.session[SESSION_ORG_KEY] = invitation.organization_id
    messages.success(request, _("Welcome to %(organization)s.")
                     % {"organization": invitation.organization.name})
    return redirect("core:home")


# Teams.

@permission_required("teams.manage")
def team_list(request):
    teams = Team.objects.select_related("lead").annotate(
        member_count=Count("memberships", filter=Q(memberships__is_active=True))
    )
    return render(request, "identity/team_list.html", {"teams": teams})


@permission_required("teams.manage")
def team_create(request):
    return _team_form(request, None)


@permission_required("teams.manage")
def team_edit(request, pk: int):
    return _team_form(request, get_object_or_404(Team.objects, pk=pk))


def _team_form(request, team: Team | None):
    initial = {}
    if team is not None:
        initial = {"name": team.name, "lead": team.lead,
                   "members": list(Membership.objects.filter(team=team))}
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.save_team(
                request.organization, request.user, name=form.cleaned_data["name"],
                lead=form.cleaned_data["lead"], team=team,
                members=list(form.cleaned_data["members"]),
            )
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Team %(team)s is saved.") % {"team": team.name})
            return redirect("identity:team_list")
    context = {"form": form, "team": team}
    return render(request, "identity/team_form.html", context, status=form_status(form))


@permission_required("teams.manage")
def team_delete(request, pk: int):
    team = get_object_or_404(Team.objects, pk=pk)
    if request.method == "POST":
        services.delete_team(request.organization, request.user, team)
        messages.success(request, _("Team %(team)s is deleted.") % {"team": team.name})
        return redirect("identity:team_list")
    member_count = Membership.objects.filter(team=team).count()
    context = {"team": team, "member_count": member_count}
    return render(request, "identity/team_confirm_delete.html", context)


# API tokens.

def _visible_tokens(request):
    """Admins see every token of the organisation; everyone else only their own."""
    tokens = ApiToken.objects.select_related("user")
    if not has_permission(request.membership, "members.manage"):
        tokens = tokens.filter(user=request.user)
    return tokens


TOKEN_PAGE_SIZE = 50  # the page size of every other list
TOKEN_ORDERING = {"created_at": "created_at"}
TOKEN_FORM_FIELDS = {"name": "name", "scopes": "scopes", "expires_at": "expires_on"}


@permission_required("tokens.own")
def token_list(request):
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = services.create_token(
                request.organization, request.user, name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"], expires_at=form.expires_at(),
            )
        except InvalidInput as exc:
            apply_errors(form, exc, TOKEN_FORM_FIELDS.get)
        else:
            form = TokenForm()
    ordering = parse_ordering(None, TOKEN_ORDERING, "-created_at")
    try:
        tokens, next_cursor = paginate(_visible_tokens(request), ordering,
                                       cursor=request.GET.get("cursor"), limit=TOKEN_PAGE_SIZE)
    except InvalidInput:
        return redirect("identity:token_list")
    context = {
        "form": form, "new_token": new_token, "tokens": tokens,
        "sees_all": has_permission(request.membership, "members.manage"),
        **pager(request.GET, next_cursor),
    }
    # The new token is rendered straight into this response, never kept in a
    # cookie, the sign-in session or a redirect, so it exists only on this one
    # page view.
    return render(request, "identity/apitoken_list.html", context, status=form_status(form))


@permission_required("tokens.own")
def token_edit(request, pk: int):
    token = get_object_or_404(_visible_tokens(request).filter(revoked_at__isnull=True), pk=pk)
    initial = {"name": token.name, "scopes": token.scopes,
               "expires_on": timezone.localdate(token.expires_at) if token.expires_at else None,
               "fingerprint": services.token_fingerprint(token)}
    form = TokenEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_token(
                request.organization, request.user, token, name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"], expires_at=form.expires_at(),
                expected_fingerprint=form.cleaned_data["fingerprint"],
            )
        except StaleVersion as exc:
            form.add_error(None, exc.detail)
            return render(request, "identity/apitoken_edit.html",
                          {"form": form, "token": token}, status=409)
        except InvalidInput as exc:
            apply_errors(form, exc, TOKEN_FORM_FIELDS.get)
        else:
            messages.success(request, _("The token %(name)s is saved.") % {
                "name": form.cleaned_data["name"]})
            return redirect("identity:token_list")
    return render(request, "identity/apitoken_edit.html", {"form": form, "token": token},
                  status=form_status(form))


@permission_required("tokens.own")
def token_revoke(request, pk: int):
    token = get_object_or_404(_visible_tokens(request), pk=pk)
    if request.method == "POST":
        services.revoke_token(request.organization, request.user, token)
        messages.success(request, _("The token %(name)s is revoked.") % {"name": token.name})
        return redirect("identity:token_list")
    return render(request, "identity/apitoken_confirm_revoke.html", {"token": token})
