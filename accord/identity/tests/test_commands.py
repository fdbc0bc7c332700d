import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.identity.models import ApiToken, Membership, Organization, Role, hash_secret

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_createorg_prints_only_the_slug(db):
    out, err = run("createorg", "Acme Trading", "--admin-email", "Boss@Acme.test",
                   "--admin-password", PASSWORD)

    assert out == "acme-trading\n"
    assert err == ""
    org = Organization.objects.get()
    user = User.objects.get()
    assert (org.name, org.slug) == ("Acme Trading", "acme-trading")
    assert user.email == "boss@acme.test"
    assert user.check_password(PASSWORD)
    assert Membership.unscoped.get().role == Role.ADMIN
    assert AuditEntry.unscoped.get().via == "cli"


def test_createorg_gives_a_second_organization_with_the_same_name_its_own_slug(db):
    run("createorg", "Acme", "--admin-email", "a@acme.test", "--admin-password", PASSWORD)

    out, _err = run("createorg", "Acme", "--admin-email", "b@acme.test",
                    "--admin-password", PASSWORD)

    assert out == "acme-2\n"


def test_createorg_without_password_generates_one_on_stderr(db, client):
    out, err = run("createorg", "Globex", "--admin-email", "hank@globex.test")

    assert out == "globex\n"
    prefix = "Generated password for hank@globex.test: "
    assert err.startswith(prefix)
    password = err[len(prefix):].strip()
    assert len(password) == 20
    response = client.post("/login", {"username": "hank@globex.test", "password": password})
    assert response.status_code == 302


def test_createorg_for_an_existing_user_keeps_their_password(org, admin):
    out, err = run("createorg", "Second Shop", "--admin-email", admin.user.email)

    assert out == "second-shop\n"
    assert err == f"{admin.user.email} already has an account; their password is unchanged.\n"
    admin.user.refresh_from_db()
    assert admin.user.check_password(PASSWORD)
    assert Membership.unscoped.filter(user=admin.user).count() == 2


def test_createorg_refuses_a_bad_email_or_a_weak_password(db):
    with pytest.raises(CommandError, match="'not-an-address' is not a valid e-mail address."):
        run("createorg", "Bad", "--admin-email", "not-an-address")
    with pytest.raises(CommandError, match="The admin password is too weak: This password is "
                                           "too short. It must contain at least 10 characters. "
                                           "This password is too common."):
        run("createorg", "Bad", "--admin-email", "ok@bad.test", "--admin-password", "password1")
    with pytest.raises(CommandError, match="Give the organisation a name."):
        run("createorg", "  ", "--admin-email", "ok@bad.test", "--admin-password", PASSWORD)
    assert Organization.objects.count() == 0


def test_createtoken_prints_only_a_working_token(org, member, in_org):
    out, err = run("createtoken", "--email", member.user.email, "--name", "Nightly export")

    assert err == ""
    raw = out.removesuffix("\n")
    assert out == raw + "\n"
    assert "\n" not in raw
    with in_org(org):
        token = ApiToken.objects.get()
    assert raw.startswith(f"acc_{token.prefix}_")
    assert token.hashed == hash_secret(raw)
    assert (token.name, token.user_id) == ("Nightly export", member.user.pk)


def test_createtoken_names_the_token_when_no_name_is_given(org, member, in_org):
    run("createtoken", "--email", member.user.email)

    with in_org(org):
        assert ApiToken.objects.get().name == "Command-line token"


def test_createtoken_needs_org_when_the_user_has_several(org, other_org, make_member, in_org):
    make_member(org, Role.SALES, email="both@example.com")
    make_member(other_org, Role.SALES, email="both@example.com")

    with pytest.raises(CommandError, match=r"both@example.com belongs to several organisations "
                                           r"\(contoso, northwind\); choose one with --org SLUG."):
        run("createtoken", "--email", "both@example.com")
    out, _err = run("createtoken", "--email", "both@example.com", "--org", "contoso")

    with in_org(other_org):
        assert ApiToken.objects.get().hashed == hash_secret(out.strip())
    with in_org(org):
        assert not ApiToken.objects.exists()


def test_createtoken_explains_unknown_users_and_missing_memberships(org, other_org, member):
    with pytest.raises(CommandError, match="No user has the e-mail address ghost@example.com."):
        run("createtoken", "--email", "ghost@example.com")
    with pytest.raises(CommandError, match=f"{member.user.email} is not an active member of an "
                                           "organisation with the slug 'contoso'."):
        run("createtoken", "--email", member.user.email, "--org", "contoso")
    User.objects.create_user("loner@example.com", PASSWORD)
    with pytest.raises(CommandError, match="loner@example.com is not an active member of any "
                                           "organisation."):
        run("createtoken", "--email", "loner@example.com")
    assert ApiToken.unscoped.count() == 0


def test_commands_explain_themselves_in_help(capsys):
    for command, expected in [
        ("createorg", "print only the organisation's slug"),
        ("createtoken", "print only the token on stdout"),
    ]:
        with pytest.raises(SystemExit):
            call_command(command, "--help")

        assert expected in " ".join(capsys.readouterr().out.split())


def test_createtoken_gives_scopes_and_an_expiry_and_still_prints_only_the_token(org, member,
                                                                                in_org):
    before = timezone.now()

    out, err = run("createtoken", "--email", member.user.email, "--scope", "contacts:read",
                   "--scope", "deals:write", "--expires-in", "30")

    assert err == ""
    raw = out.removesuffix("\n")
    assert "\n" not in raw
    with in_org(org):
        token = ApiToken.objects.get()
    assert token.hashed == hash_secret(raw)
    assert token.scopes == ["contacts:read", "deals:write"]
    assert before + dt.timedelta(days=30) <= token.expires_at
    assert token.expires_at <= timezone.now() + dt.timedelta(days=30)


def test_createtoken_without_scope_gives_everything_and_refuses_unknown_ones(org, member,
                                                                             in_org):
    run("createtoken", "--email", member.user.email)

    with pytest.raises(CommandError, match="argument --scope: invalid choice: 'contacts:all'"):
        run("createtoken", "--email", member.user.email, "--scope", "contacts:all")
    with pytest.raises(CommandError, match="argument --expires-in: give between 1 and 3650 days"):
        run("createtoken", "--email", member.user.email, "--expires-in", "0")
    with in_org(org):
        assert list(ApiToken.objects.values_list("scopes", "expires_at")) == [(["*"], None)]
