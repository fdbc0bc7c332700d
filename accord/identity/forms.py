"""Forms for signing in, the profile, and the organisation's members, teams and tokens.

Forms only shape and label input; the services decide what is valid for the
organisation and views put a service's InvalidInput back on these fields.
"""

import datetime as dt

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import scopes as token_scopes
from . import sso, throttle, twofactor
from .models import TIME_ZONE_CHOICES, Membership, Role, Team
from .services import MAX_TOKEN_DAYS

User = get_user_model()


class SignInForm(AuthenticationForm):
    """E-mail and password; a wrong pair and an unknown address get the same answer."""

    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("The e-mail address or password is not correct."),
        "inactive": _("The e-mail address or password is not correct."),
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        ip = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        wait = throttle.locked_for(email, ip) if email else None
        if wait is not None:
            raise locked_error(wait)
        # Asked before the password is checked, so that the answer does not
        # tell whether the password was right.
        if email and sso.password_sign_in_refused(email):
            raise forms.ValidationError(
                _("Your organisation signs in with single sign-on. Use “Sign in with single "
                  "sign-on” below."), code="sso_required")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if email:
                throttle.record_failure(email, ip)
            raise
        # With two-factor on, the count is cleared only by a right code, so
        # the password cannot be replayed to reset the count of wrong codes.
        if not twofactor.two_factor_enabled(self.get_user()):
            throttle.clear_failures(email)
        return cleaned


def _minutes(wait) -> int:
    return max(1, int(wait.total_seconds() // 60) + 1)


def locked_error(wait) -> forms.ValidationError:
    minutes = _minutes(wait)
    return forms.ValidationError(
        ngettext(
            "Too many failed sign-ins. Try again in %(minutes)d minute, or reset "
            "your password.",
            "Too many failed sign-ins. Try again in %(minutes)d minutes, or reset "
            "your password.",
            minutes,
        ) % {"minutes": minutes},
        code="throttled",
    )


def proof_locked_message(wait) -> str:
    """What the profile's password and code checks say while the address is locked."""
    minutes = _minutes(wait)
    return ngettext(
        "Too many wrong passwords or codes. Try again in %(minutes)d minute.",
        "Too many wrong passwords or codes. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class SignInCodeForm(forms.Form):
    """The second step of signing in: a code from the app, or a recovery code.

    Wrong codes count as failed sign-ins of the address, under the same lock.
    """

    code = forms.CharField(
        label=_("Code"), max_length=32,
        help_text=_("The six digits your authenticator app shows, or one of your "
                    "recovery codes."),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "one-time-code",
                                      "inputmode": "text", "spellcheck": "false"}),
    )

    def __init__(self, *args, request, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.request, self.user = request, user

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        ip = self.request.META.get("REMOTE_ADDR", "")
        wait = throttle.locked_for(self.user.email, ip)
        if wait is not None:
            raise locked_error(wait)
        if not twofactor.verify_second_factor(self.user, code):
            throttle.record_failure(self.user.email, ip)
            raise forms.ValidationError(_("This code is not correct, or it was used "
                                          "already."), code="invalid")
        throttle.clear_failures(self.user.email)
        return code


class ConfirmCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "spellcheck": "false"}),
    )


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, with the current password under the sign-in lock-out: a wrong one
    counts as a failed sign-in of the address, and while the address is locked not even
    the right one is accepted."""

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.ip = request.META.get("REMOTE_ADDR", "")

    def clean_old_password(self) -> str:
        wait = throttle.locked_for(self.user.email, self.ip)
        if wait is not None:
            raise forms.ValidationError(proof_locked_message(wait), code="throttled")
        try:
            return super().clean_old_password()
        except forms.ValidationError:
            throttle.record_failure(self.user.email, self.ip)
            raise


class ProveIdentityForm(forms.Form):
    """A current code or the password, for changes that weaken or reveal the second factor."""

    code = forms.CharField(
        label=_("Code from the app"), max_length=16, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("or your password"), strip=False, required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor sign-in for members"), required=False,
        help_text=_("Members without it are sent to set it up when they sign in and can do "
                    "nothing else until they have. API tokens keep working."),
    )


class ResetRequestForm(PasswordResetForm):
    email = forms.EmailField(
        label=_("E-mail"), max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=TIME_ZONE_CHOICES,
        help_text=_("Dates and times are shown in this time zone."),
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SALES)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.unscoped.none(), required=False,
        empty_label=_("No team"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.all()


class MembershipForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.unscoped.none(), required=False,
        empty_label=_("No team"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.all()


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        user = obj.user
        return f"{user.full_name} <{user.email}>" if user.full_name else user.email


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    lead = forms.ModelChoiceField(
        label=_("Team lead"), queryset=User.objects.none(), required=False,
        empty_label=_("No lead"),
    )
    members = MemberChoiceField(
        label=_("Members"), queryset=Membership.unscoped.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A member belongs to one team; choosing someone here moves them "
                    "out of their current team."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        active = Membership.objects.filter(is_active=True).select_related("user")
        self.fields["members"].queryset = active.order_by("user__full_name", "user__email")
        self.fields["lead"].queryset = User.objects.filter(
            pk__in=active.values("user_id")
        ).order_by("full_name", "email")


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=120,
        help_text=_("Say what uses the token, such as “Billing sync”, so you know what "
                    "breaks when you revoke it."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=token_scopes.choices, initial=[token_scopes.ALL],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one scope.")},
        help_text=_("What the token may reach. It never goes beyond your role: a scope your "
                    "role does not allow gives nothing."),
    )
    expires_on = forms.DateField(
        label=_("Valid until"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The token stops working at the end of this day, in your time zone. "
                    "Leave it empty for a token that does not expire."),
    )

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day > timezone.localdate() + dt.timedelta(days=MAX_TOKEN_DAYS):
            raise forms.ValidationError(
                _("Choose a day within ten years, or leave it empty for no expiry."))
        return day

    def expires_at(self) -> dt.datetime | None:
        """The last second of the chosen day in the current time zone, or None for no expiry."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))

    def scope_rows(self) -> list[dict]:
        """One row per area with its read and write checkboxes, for the scope table."""
        boxes = {box.data["value"]: box for box in self["scopes"]}
        return [
            {"label": label, "read": boxes[f"{area}:read"], "write": boxes[f"{area}:write"]}
            for area, label in token_scopes.AREAS.items()
        ]

    def everything_box(self):
        return next(box for box in self["scopes"] if box.data["value"] == token_scopes.ALL)


class TokenEditForm(TokenForm):
    # The token as the page showed it; a save is refused when it has changed since.
    fingerprint = forms.CharField(
        widget=forms.HiddenInput, max_length=64,
        error_messages={"required": _("This page is missing what the token looked like when "
                                      "it was opened; reload it and make your change again.")})

    def clean(self):
        cleaned = super().clean()
        # A hidden field's error has no place beside a field: show it above the form.
        if "fingerprint" in self.errors:
            self.add_error(None, self.errors.pop("fingerprint"))
        return cleaned


class AcceptInvitationForm(forms.Form):
    """A new user's name and password, checked by the configured password validators."""

    full_name = forms.CharField(label=_("Full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields["password1"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords are not the same."))
        elif first:
            candidate = User(email=self.email, full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
