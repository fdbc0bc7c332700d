"""Single sign-on through an organisation's own OpenID Connect provider.

An admin gives the provider's issuer URL, the client id and secret Accord is
registered with, and the e-mail domains that may sign in. Signing in is the
authorization code flow with PKCE: Accord sends the browser to the provider
with a fresh state, nonce and code challenge kept in the (anonymous) session,
takes the code back on one callback address, exchanges it at the token
endpoint and accepts the ID token only when its signature checks against the
provider's published keys and its issuer, audience, expiry and nonce are ours.
The person is then found by the verified e-mail address among the members of
that one organisation, or added when the organisation allows it.

Every call to the provider goes through `accord.integrations.outbound`: the
issuer is typed by an admin, so private, loopback and link-local addresses
are refused as for webhooks, redirects are not followed and time limits are
short. A browser session started this way is bound to the organisation whose
provider vouched for the person, so one organisation's provider never opens
another organisation's data.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, StaleVersion
from accord.integrations import outbound

from .models import Membership, Organization, Role, SingleSignOn

logger = logging.getLogger(__name__)
User = get_user_model()

PENDING_KEY = "sso_pending"
# What signing out at the provider needs, kept for a session begun there.
SIGN_OUT_KEY = "sso_sign_out"
BOUND_ORG_KEY = "sso_organization_id"
PENDING_SECONDS = 600  # time enough for the provider's own sign-in and its second factor
MAX_DOCUMENT = 256 * 1024  # a discovery document or key set is a few kilobytes
# How long a provider's discovery document and key set are reused. A key the
# provider has just rotated in is fetched at once: a token that does not check
# against a kept key set is checked again against a fresh one.
PROVIDER_CACHE_SECONDS = 3600
LEEWAY = 60  # seconds of clock difference allowed between Accord and the provider
MAX_DOMAINS = 20
SCOPE = "openid email profile"
# Asymmetric signatures only: a shared-secret (HS*) token could be forged by
# anyone who knows the client secret, and "none" is never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
              "ES512", "EdDSA"]
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
NEW_MEMBER_ROLES = [role for role in Role.values if role != Role.ADMIN]


class SignInFailed(Exception):
    """Signing in through the provider did not work.

    `message` is safe to show to the person signing in; `reason` is a short
    stable key for the log. Neither carries a token or the provider's answer.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable; the message says
    which, for the admin who set it up."""


@dataclass(frozen=True)
class Provider:
    """What the discovery document says about the provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    send_secret_in_body: bool
    # Where the browser signs out at the provider too; blank when it offers none.
    end_session_endpoint: str = ""


# The organisation's settings.

def configuration_of(org: Organization) -> SingleSignOn:
    """The organisation's settings, or unsaved defaults at version 0 before the first save."""
    found = SingleSignOn.unscoped.filter(organization=org).first()
    return found or SingleSignOn(organization=org, version=0)


def _clean_domains(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\s,;]+", value)
    if not isinstance(value, list):
        raise InvalidInput({"allowed_domains": _("Give the domains as a list.")})
    domains = []
    for item in value:
        domain = str(item).strip().lower().lstrip("@")
        if not domain:
            continue
        if not DOMAIN.match(domain):
            raise InvalidInput({"allowed_domains": _(
                "Each domain is a name such as example.com, without http:// or an address.")})
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        raise InvalidInput({"allowed_domains": _("Give at most %(count)d domains.")
                            % {"count": MAX_DOMAINS}})
    return domains


def _clean_issuer(value: str) -> str:
    issuer = (value or "").strip()
    if not issuer:
        return ""
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        raise InvalidInput({"issuer": _("The issuer URL has no query or fragment (no ? or #).")})
    try:
        host, _port, _path, scheme = outbound.check_url(issuer)
    except outbound.Refused as exc:
        raise InvalidInput({"issuer": str(exc)}) from None
    allowed = {name.lower() for name in settings.WEBHOOK_ALLOWED_HOSTS}
    if scheme != "https" and host not in allowed:
        raise InvalidInput({"issuer": _("Use an https:// address: the provider's answers "
                                        "carry sign-in tokens.")})
    return issuer


@transaction.atomic
def update_single_sign_on(org: Organization, actor, *, data: dict,
                          expected_version: int | None = None) -> SingleSignOn:
    """Change the settings named in `data`; the others stay.

    Keys: enabled, issuer, client_id, client_secret (empty keeps the stored
    one), allowed_domains, create_members, new_member_role, require_sso.
    Raises InvalidInput naming each bad field and StaleVersion when
    `expected_version` is not the stored one. Each change is audited; the
    secret only as "changed", never its value.
    """
    data = dict(data)
    # The organisation row serialises the first save, which creates the settings.
    Organization.objects.select_for_update().get(pk=org.pk)
    config = configuration_of(org)
    if expected_version is not None and int(expected_version) != config.version:
        raise StaleVersion(current_version=config.version)
    before = _audited_values(config)

    errors = {}
    for key, clean in (("issuer", _clean_issuer), ("allowed_domains", _clean_domains)):
        if key in data:
            try:
                data[key] = clean(data[key])
            except InvalidInput as exc:
                errors.update({error["field"]: error["message"] for error in exc.errors})
    if "client_id" in data:
        data["client_id"] = (data["client_id"] or "").strip()
        if len(data["client_id"]) > 255:
            errors["client_id"] = _("The client id is at most 255 characters long.")
    if "new_member_role" in data and data["new_member_role"] not in NEW_MEMBER_ROLES:
        errors["new_member_role"] = _("Choose a role other than admin: admins are made by "
                                      "another admin, not by signing in.")
    if errors:
        raise InvalidInput(errors)

    for key in ("enabled", "issuer", "client_id", "allowed_domains", "create_members",
                "new_member_role", "require_sso"):
        if key in data and data[key] is not None:
            setattr(config, key, data[key])
    secret_changed = bool(data.get("client_secret"))
    if secret_changed:
        config.client_secret = data["client_secret"].strip()
    _check_complete(config)

    after = _audited_values(config)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if secret_changed:
        changes["client_secret"] = [None, "changed"]
    if not changes:
        return config
    if config.pk is None:
        config.version = 1
        config.save()
    else:
        config.save_new_version()
    audit.record(org, actor, Action.UPDATE, config, entity="single_sign_on",
                 object_repr="Single sign-on", changes=changes)
    logger.info("identity.single_sign_on_changed",
                extra={"organization_id": org.id, "fields": len(changes)})
    return config


def _audited_values(config: SingleSignOn) -> dict:
    return {"enabled": config.enabled, "issuer": config.issuer, "client_id": config.client_id,
            "allowed_domains": config.allowed_domains, "create_members": config.create_members,
            "new_member_role": config.new_member_role, "require_sso": config.require_sso}


def _check_complete(config: SingleSignOn) -> None:
    if not config.enabled:
        if config.require_sso:
            raise InvalidInput({"require_sso": _("Single sign-on can be required only while "
                                                 "it is switched on.")})
        return
    errors = {}
    if not config.issuer:
        errors["issuer"] = _("Give the issuer URL to switch single sign-on on.")
    if not config.client_id:
        errors["client_id"] = _("Give the client id to switch single sign-on on.")
    if not config.encrypted_client_secret:
        errors["client_secret"] = _("Give the client secret to switch single sign-on on.")
    if not config.allowed_domains:
        errors["allowed_domains"] = _("Give at least one e-mail domain that may sign in.")
    if errors:
        raise InvalidInput(errors)


# Talking to the provider.

def _get_json(url: str, what: str) -> dict:
    try:
        body = outbound.fetch(url, max_bytes=MAX_DOCUMENT)
    except outbound.Refused as exc:
        raise ProviderError(str(exc)) from None
    except OSError as exc:
        raise ProviderError(_("The %(what)s could not be read: %(error)s")
                            % {"what": what, "error": exc}) from None
    try:
        document = json.loads(body)
    except ValueError:
        raise ProviderError(_("The %(what)s is not JSON.") % {"what": what}) from None
    if not isinstance(document, dict):
        raise ProviderError(_("The %(what)s is not a JSON object.") % {"what": what})
    return document


def _cache_key(kind: str, url: str) -> str:
    return f"sso:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def _get_kept_json(kind: str, url: str, what: str, *, fresh: bool) -> tuple[dict, bool]:
    """The JSON document at `url` and whether it came from the cache; a document read
    afresh is kept for PROVIDER_CACHE_SECONDS."""
    key = _cache_key(kind, url)
    if not fresh:
        kept = cache.get(key)
        if isinstance(kept, dict):
            return kept, True
    document = _get_json(url, what)
    cache.set(key, document, PROVIDER_CACHE_SECONDS)
    return document, False


def discover(issuer: str, *, fresh: bool = False) -> Provider:
    """Read the provider's discovery document (a kept copy unless `fresh`);
    ProviderError saying what is wrong."""
    document, _kept = _get_kept_json(
        "discovery", issuer.rstrip("/") + "/.well-known/openid-configuration",
        _("discovery document"), fresh=fresh)
    named = document.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise ProviderError(_("The discovery document names another issuer; check the "
                              "issuer URL."))
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(key)
        if not isinstance(value, str):
            raise ProviderError(_("The discovery document has no %(key)s.") % {"key": key})
        try:
            outbound.check_url(value)
        except outbound.Refused:
            raise ProviderError(_("The %(key)s of the discovery document is not an http(s) "
                                  "address.") % {"key": key}) from None
        endpoints[key] = value
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderError(_("The provider does not offer PKCE with S256, which Accord "
                              "needs."))
    end_session = document.get("end_session_endpoint")
    if isinstance(end_session, str):
        try:
            outbound.check_url(end_session)
        except outbound.Refused:
            end_session = None
    endpoints["end_session_endpoint"] = end_session if isinstance(end_session, str) else ""
    auth_methods = document.get("token_endpoint_auth_methods_supported")
    in_body = (isinstance(auth_methods, list) and "client_secret_basic" not in auth_methods
               and "client_secret_post" in auth_methods)
    return Provider(issuer=named, send_secret_in_body=in_body, **endpoints)


def check_provider(issuer: str) -> Provider:
    """Check that `issuer` answers a usable discovery document and key set.

    Raises InvalidInput on the issuer field saying what failed.
    """
    issuer = _clean_issuer(issuer)
    if not issuer:
        raise InvalidInput({"issuer": _("Give the issuer URL to test.")})
    try:
        provider = discover(issuer, fresh=True)
        _key_set(provider.jwks_uri, fresh=True)
    except ProviderError as exc:
        raise InvalidInput({"issuer": str(exc)}) from None
    return provider


def _key_set(jwks_uri: str, *, fresh: bool = False) -> KeySet:
    return _kept_key_set(jwks_uri, fresh=fresh)[0]


def _kept_key_set(jwks_uri: str, *, fresh: bool) -> tuple[KeySet, bool]:
    """The provider's key set (a kept copy unless `fresh`) and whether it was kept."""
    document, kept = _get_kept_json("keys", jwks_uri, _("key set"), fresh=fresh)
    try:
        return KeySet.import_key_set(document), kept
    except (JoseError, ValueError, TypeError, KeyError):
        cache.delete(_cache_key("keys", jwks_uri))
        raise ProviderError(_("The provider's key set holds no usable key.")) from None


def verify_id_token(id_token: str, *, keys: KeySet, issuer: str, client_id: str,
                    nonce: str) -> dict:
    """The claims of `id_token`; SignInFailed unless its signature checks against `keys`
    and its issuer, audience, expiry and nonce are the expected ones."""
    refused = SignInFailed("invalid_id_token", _(
        "The sign-in provider's answer could not be trusted. Try again, or ask your "
        "administrator to check the single sign-on settings."))
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError):
        raise refused from None
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY, iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id}, exp={"essential": True},
        sub={"essential": True}, nonce={"essential": True, "value": nonce},
    )
    claims = token.claims
    try:
        registry.validate(claims)
    except JoseError:
        raise refused from None
    # With several audiences, the party the token was issued to must be us.
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise refused
    return claims


def _exchange_code(config: SingleSignOn, pending: dict, code: str, redirect_uri: str) -> str:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": pending["verifier"]}
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Accept": "application/json", "User-Agent": "Accord"}
    if pending["secret_in_body"]:
        form.update(client_id=config.client_id, client_secret=config.client_secret)
    else:
        # RFC 6749 form-encodes the id and secret before joining them.
        pair = f"{_form_escape(config.client_id)}:{_form_escape(config.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    unreachable = SignInFailed("provider_unreachable", _(
        "Your organisation's sign-in provider could not be reached. Try again later."))
    try:
        reply = outbound.post(pending["token_endpoint"], urlencode(form).encode(), headers)
    except (outbound.Refused, OSError):
        raise unreachable from None
    if reply.status != 200:
        logger.warning("sso.token_refused", extra={"organization_id": config.organization_id,
                                                   "status": reply.status})
        raise SignInFailed("token_refused", _(
            "The sign-in provider did not accept this sign-in. Try again, or ask your "
            "administrator to check the single sign-on settings."))
    try:
        id_token = json.loads(reply.body).get("id_token")
    except (ValueError, AttributeError):
        id_token = None
    if not isinstance(id_token, str):
        raise SignInFailed("invalid_id_token", _(
            "The sign-in provider's answer could not be trusted. Try again, or ask your "
            "administrator to check the single sign-on settings."))
    return id_token


def _form_escape(value: str) -> str:
    return urlencode({"": value})[1:]


# Signing in.

def find_organization(identifier: str) -> Organization:
    """The organisation named by its slug, an e-mail domain or an e-mail address.

    Raises SignInFailed when none matches, when single sign-on is not set up
    for it, or when a domain belongs to several organisations.
    """
    text = (identifier or "").strip().lower()
    if not text:
        raise SignInFailed("unknown_organization", _(
            "Enter your organisation's short name or your work e-mail address."))
    domain = text.rpartition("@")[2]
    org = Organization.objects.filter(slug=text).first() if "@" not in text else None
    if org is not None:
        if not configuration_of(org).is_usable:
            raise SignInFailed("not_configured", _(
                "Single sign-on is not set up for this organisation. Sign in with your "
                "e-mail and password."))
        return org
    configs = list(SingleSignOn.unscoped.select_related("organization").filter(
        enabled=True, domains__contains=f"|{domain}|")[:2])
    if len(configs) > 1:
        raise SignInFailed("ambiguous_domain", _(
            "Several organisations sign in with this domain. Enter your organisation's "
            "short name instead."))
    if not configs or not configs[0].is_usable:
        raise SignInFailed("unknown_organization", _(
            "No organisation signs in with single sign-on under this name or domain."))
    return configs[0].organization


def begin_sign_in(request, org: Organization, *, redirect_uri: str, next_url: str) -> str:
    """Remember a new sign-in attempt in the session; returns the provider's address to
    send the browser to. Raises SignInFailed when the provider cannot be used."""
    config = configuration_of(org)
    if not config.is_usable:
        raise SignInFailed("not_configured", _(
            "Single sign-on is not set up for this organisation. Sign in with your e-mail "
            "and password."))
    try:
        provider = discover(config.issuer)
    except ProviderError:
        logger.warning("sso.discovery_failed", extra={"organization_id": org.id})
        raise SignInFailed("provider_unreachable", _(
            "Your organisation's sign-in provider could not be reached. Try again later.")
        ) from None

    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    request.session[PENDING_KEY] = {
        "organization_id": org.id, "state": state, "nonce": nonce, "verifier": verifier,
        "next": next_url, "since": int(time.time()), "issuer": provider.issuer,
        "token_endpoint": provider.token_endpoint, "jwks_uri": provider.jwks_uri,
        "secret_in_body": provider.send_secret_in_body,
        "end_session_endpoint": provider.end_session_endpoint,
    }

    query = urlencode({
        "response_type": "code", "client_id": config.client_id, "redirect_uri": redirect_uri,
        "scope": SCOPE, "state": state, "nonce": nonce,
        "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
    })
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    logger.info("sso.started", extra={"organization_id": org.id})
    return provider.authorization_endpoint + separator + query


def complete_sign_in(request, params, *, redirect_uri: str) -> tuple[Membership, str, dict]:
    """Finish the attempt this session began with the provider's answer in `params`.

    Returns the member to sign in, where they wanted to go, and what signing
    out at the provider will need (empty when it offers no sign-out). Raises
    SignInFailed for a missing or stale attempt, a state that is not this
    session's, an error from the provider, an untrusted ID token, an e-mail
    that is not verified or not of an allowed domain, and a person who may
    not join the organisation.
    """
    pending = request.session.pop(PENDING_KEY, None)
    if not pending or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        raise SignInFailed("no_attempt", _(
            "This sign-in ran out or was started in another browser. Start again."))
    if not hmac.compare_digest(str(params.get("state", "")), pending["state"]):
        raise SignInFailed("state_mismatch", _(
            "The answer from the sign-in provider does not belong to this sign-in. Start "
            "again."))
    org = Organization.objects.filter(pk=pending["organization_id"]).first()
    if org is None:
        raise SignInFailed("unknown_organization", _(
            "No organisation signs in with single sign-on under this name or domain."))
    if params.get("error"):
        logger.warning("sso.provider_error", extra={
            "organization_id": org.id,
            "error": re.sub(r"[^a-z_]", "", str(params["error"]))[:64]})
        raise SignInFailed("provider_error", _(
            "The sign-in provider did not sign you in. Try again, or ask your "
            "administrator."))
    config = configuration_of(org)
    if not config.is_usable or config.issuer.rstrip("/") != pending["issuer"].rstrip("/"):
        raise SignInFailed("not_configured", _(
            "The organisation's single sign-on settings changed during this sign-in. Start "
            "again."))
    code = str(params.get("code", ""))
    if not code:
        raise SignInFailed("provider_error", _(
            "The sign-in provider did not sign you in. Try again, or ask your "
            "administrator."))

    id_token = _exchange_code(config, pending, code, redirect_uri)
    claims = _checked_claims(id_token, config, pending)
    email = _verified_email(claims)
    if email.rpartition("@")[2] not in config.allowed_domains:
        raise SignInFailed("domain_not_allowed", _(
            "Your e-mail domain may not sign in to this organisation. Ask your "
            "administrator."))

    membership = _member_for(org, config, email, claims)
    sign_out = {}
    if pending.get("end_session_endpoint"):
        sign_out = {"endpoint": pending["end_session_endpoint"], "id_token": id_token,
                    "client_id": config.client_id}
    return membership, pending.get("next") or "/", sign_out


def _checked_claims(id_token: str, config: SingleSignOn, pending: dict) -> dict:
    """The ID token's claims, checked against the kept key set and, when that fails,
    against a fresh one: the provider may have rotated its keys since."""
    unreachable = SignInFailed("provider_unreachable", _(
        "Your organisation's sign-in provider could not be reached. Try again later."))
    expected = {"issuer": pending["issuer"], "client_id": config.client_id,
                "nonce": pending["nonce"]}
    try:
        keys, kept = _kept_key_set(pending["jwks_uri"], fresh=False)
    except ProviderError:
        raise unreachable from None
    try:
        return verify_id_token(id_token, keys=keys, **expected)
    except SignInFailed:
        if not kept:
            raise
    try:
        keys = _key_set(pending["jwks_uri"], fresh=True)
    except ProviderError:
        raise unreachable from None
    return verify_id_token(id_token, keys=keys, **expected)


def _verified_email(claims: dict) -> str:
    email = claims.get("email")
    verified = claims.get("email_verified")
    # Some providers send the flag as the string "true".
    if verified is not True and str(verified).lower() != "true":
        raise SignInFailed("email_not_verified", _(
            "Your sign-in provider has not confirmed your e-mail address, so Accord cannot "
            "tell who you are. Ask your administrator."))
    if not isinstance(email, str) or "@" not in email:
        raise SignInFailed("email_not_verified", _(
            "Your sign-in provider did not say your e-mail address. Ask your "
            "administrator."))
    return email.strip().lower()


@transaction.atomic
def _member_for(org: Organization, config: SingleSignOn, email: str,
                claims: dict) -> Membership:
    user = User.objects.filter(email=email).first()
    membership = None
    if user is not None:
        membership = Membership.unscoped.filter(organization=org, user=user).first()
    if membership is not None:
        if not membership.is_active or not user.is_active:
            raise SignInFailed("inactive", _(
                "Your access to this organisation is switched off. Ask your administrator."))
        return membership
    if not config.create_members or (user is not None and not user.is_active):
        raise SignInFailed("not_a_member", _(
            "You are not a member of this organisation yet. Ask your administrator to "
            "invite you."))

    if user is None:
        name = claims.get("name") if isinstance(claims.get("name"), str) else ""
        user = User.objects.create_user(email, None, full_name=name[:200])
    membership = Membership.unscoped.create(organization=org, user=user,
                                            role=config.new_member_role)

    audit.record(org, user, Action.CREATE, membership, entity="membership",
                 changes={"role": [None, membership.role], "joined": [None, "single sign-on"]})
    logger.info("sso.member_added",
                extra={"organization_id": org.id, "membership_id": membership.pk})
    return membership


def sign_in(request, membership: Membership, *, sign_out: dict | None = None) -> None:
    """Sign the member's user in, bound to the membership's organisation; `sign_out` is
    kept for signing out at the provider later."""
    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    # Imported here because the middleware imports this module.
    from .middleware import SESSION_ORG_KEY

    request.session[SESSION_ORG_KEY] = membership.organization_id
    request.session[BOUND_ORG_KEY] = membership.organization_id
    if sign_out:
        request.session[SIGN_OUT_KEY] = sign_out
    logger.info("sso.signed_in", extra={"organization_id": membership.organization_id,
                                        "user_id": membership.user_id})


# Which organisations a browser session may use.

def _sso_required_orgs():
    return SingleSignOn.unscoped.filter(enabled=True, require_sso=True).values(
        "organization_id")


def reachable_memberships(session, memberships):
    """Narrow a user's memberships to those this browser session may use.

    A session begun through a provider uses only that provider's
    organisation. A session begun with a password does not reach the
    organisations that require single sign-on, unless the member is an admin
    there (so that an admin can still mend a broken provider).
    """
    bound = session.get(BOUND_ORG_KEY)
    if bound is not None:
        return memberships.filter(organization_id=bound)
    return memberships.exclude(Q(organization_id__in=_sso_required_orgs())
                               & ~Q(role=Role.ADMIN))


def password_sign_in_refused(email: str) -> bool:
    """True when every active membership of `email` is in an organisation that requires
    single sign-on and is not an admin's, so a password would open nothing."""
    memberships = Membership.unscoped.filter(user__email=email, user__is_active=True,
                                             is_active=True)
    if not memberships.exists():
        return False
    return not reachable_memberships({}, memberships).exists()


def provider_sign_out_url(sign_out: dict | None, *, return_to: str) -> str | None:
    """The provider's address that ends the person's session there too and sends the
    browser back to `return_to`; None for a session not begun at a provider that offers it.
    """
    if not isinstance(sign_out, dict) or not sign_out.get("endpoint"):
        return None
    query = urlencode({"id_token_hint": sign_out.get("id_token", ""),
                       "client_id": sign_out.get("client_id", ""),
                       "post_logout_redirect_uri": return_to})
    endpoint = sign_out["endpoint"]
    return endpoint + ("&" if "?" in endpoint else "?") + query
