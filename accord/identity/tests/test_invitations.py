import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.identity import services
from accord.identity.models import Invitation, Membership, Role, Team

from .conftest import link_path

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "plum-tree-orbit-lantern"


def invite(client, email="new.hire@example.com", role=Role.SUPPORT, team=""):
    return client.post("/settings/members/invite", {"email": email, "role": role, "team": team})


def test_invitation_mail_link_lets_a_new_person_join_with_a_password(
    org, admin, client_for, client, smtp_inbox, django_capture_on_commit_callbacks, in_org
):
    with in_org(org):
        team = Team.objects.create(organization=org, name="Help desk")

    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client_for(admin), team=team.pk)

    assert response.status_code == 302
    assert response["Location"] == "/settings/members/"
    recipients, subject, body = smtp_inbox.only()
    assert recipients == ["new.hire@example.com"]
    assert subject == "You are invited to Northwind on Accord"
    assert body.startswith("Admin 1 invited you to join Northwind on Accord.")
    page = client.get(link_path(body))
    assert page.status_code == 200
    assert "You are invited as Support, with the e-mail address new.hire@example.com." in (
        page.content.decode())

    joined = client.post(link_path(body), {"full_name": "Nia Hire", "password1": NEW_PASSWORD,
                                           "password2": NEW_PASSWORD})

    assert joined.status_code == 302
    assert joined["Location"] == "/"
    user = User.objects.get(email="new.hire@example.com")
    assert user.full_name == "Nia Hire"
    assert user.check_password(NEW_PASSWORD)
    with in_org(org):
        membership = Membership.objects.get(user=user)
    assert (membership.role, membership.team_id, membership.is_active) == (
        Role.SUPPORT, team.pk, True)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(link_path(body)).status_code == 404


def test_invitation_is_written_to_the_audit_trail(org, admin, client_for, in_org):
    invite(client_for(admin), email="auditor@example.com", role=Role.READ_ONLY)

    with in_org(org):
        invitation = Invitation.objects.get()
        entry = AuditEntry.objects.filter(entity="invitation").get()
    assert (entry.actor_id, entry.action, entry.object_id, entry.via) == (
        admin.user.pk, "access", invitation.pk, "web")
    assert entry.changes == {"invited": [None, "read_only"]}


def test_accept_page_checks_the_password_rules(org, admin, client, in_org):
    with in_org(org):
        services.invite_member(org, admin.user, email="weak@example.com", role=Role.SALES,
                               accept_url_template="http://testserver/invitations/{token}")
    raw = "known-token"
    Invitation.unscoped.update(hashed=services.hash_secret(raw))

    response = client.post(f"/invitations/{raw}", {"full_name": "Wes Weak",
                                                   "password1": "weak@example.com",
                                                   "password2": "weak@example.com"})

    assert response.status_code == 422
    assert "The password is too similar to the e-mail." in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_accept_page_rejects_two_different_passwords(org, admin, client, in_org):
    with in_org(org):
        services.invite_member(org, admin.user, email="typo@example.com", role=Role.SALES,
                               accept_url_template="http://testserver/invitations/{token}")
    Invitation.unscoped.update(hashed=services.hash_secret("typo-token"))

    response = client.post("/invitations/typo-token", {"full_name": "Ty Po",
                                                       "password1": NEW_PASSWORD,
                                                       "password2": NEW_PASSWORD + "x"})

    assert response.status_code == 422
    assert "The two passwords are not the same." in response.content.decode()


def test_signed_in_user_with_the_invited_address_joins_with_one_click(
    org, other_org, make_member, client_for, in_org
):
    elsewhere = make_member(other_org, Role.SALES, email="roamer@example.com")
    with in_org(org):
        admin = Membership.objects.get(role=Role.ADMIN)
        services.invite_member(org, admin.user, email="roamer@example.com", role=Role.MARKETING,
                               accept_url_template="http://testserver/invitations/{token}")
    Invitation.unscoped.update(hashed=services.hash_secret("roam-token"))
    client = client_for(elsewhere)

    page = client.get("/invitations/roam-token")
    response = client.post("/invitations/roam-token")

    assert '<button class="primary" type="submit">Join Northwind</button>' in (
        page.content.decode())
    assert response.status_code == 302
    with in_org(org):
        assert Membership.objects.get(user=elsewhere.user).role == Role.MARKETING
    assert client.session["organization_id"] == org.pk


def test_invitation_for_another_address_is_not_accepted_by_the_signed_in_user(
    org, admin, member, client_for, in_org
):
    with in_org(org):
        services.invite_member(org, admin.user, email="someone.else@example.com",
                               role=Role.ADMIN,
                               accept_url_template="http://testserver/invitations/{token}")
    Invitation.unscoped.update(hashed=services.hash_secret("other-token"))
    client = client_for(member)

    page = client.get("/invitations/other-token")
    client.post("/invitations/other-token")

    assert "but the invitation is for another address" in page.content.decode()
    with in_org(org):
        assert Membership.objects.get(user=member.user).role == Role.SALES
        assert Invitation.objects.get().accepted_at is None


def test_existing_account_is_asked_to_sign_in_before_joining(
    org, other_org, make_member, client, in_org
):
    make_member(other_org, Role.SALES, email="known@example.com")
    with in_org(org):
        admin = Membership.objects.get(role=Role.ADMIN)
        services.invite_member(org, admin.user, email="known@example.com", role=Role.SALES,
                               accept_url_template="http://testserver/invitations/{token}")
    Invitation.unscoped.update(hashed=services.hash_secret("known-token"))

    page = client.get("/invitations/known-token")
    client.post("/invitations/known-token", {"full_name": "Hijack", "password1": NEW_PASSWORD,
                                             "password2": NEW_PASSWORD})

    assert 'href="/login?next=%2Finvitations%2Fknown-token"' in page.content.decode()
    assert User.objects.get(email="known@example.com").check_password(PASSWORD)
    with in_org(org):
        assert not Membership.objects.filter(user__email="known@example.com").exists()


def test_expired_or_unknown_invitation_link_answers_404(org, admin, client, in_org):
    with in_org(org):
        services.invite_member(org, admin.user, email="late@example.com", role=Role.SALES,
                               accept_url_template="http://testserver/invitations/{token}")
    Invitation.unscoped.update(hashed=services.hash_secret("late-token"),
                               expires_at=timezone.now() - dt.timedelta(minutes=1))

    expired = client.get("/invitations/late-token")
    unknown = client.get("/invitations/never-issued")

    assert expired.status_code == 404
    assert "This invitation link is not valid any more" in expired.content.decode()
    assert unknown.status_code == 404


def test_inviting_a_current_member_is_refused_on_the_email_field(org, admin, member, client_for):
    response = invite(client_for(admin), email=member.user.email)

    assert response.status_code == 422
    assert "This person is already a member." in response.content.decode()
    assert Invitation.unscoped.count() == 0


def test_admin_revokes_an_open_invitation(org, admin, client_for, client, in_org):
    with in_org(org):
        invitation = services.invite_member(
            org, admin.user, email="maybe@example.com", role=Role.SALES,
            accept_url_template="http://testserver/invitations/{token}")
    Invitation.unscoped.update(hashed=services.hash_secret("maybe-token"))
    members_page = client_for(admin).get("/settings/members/")
    assert "maybe@example.com" in members_page.content.decode()

    response = client_for(admin).post(f"/settings/invitations/{invitation.pk}/revoke")

    assert response.status_code == 302
    assert client.get("/invitations/maybe-token").status_code == 404
    assert "maybe@example.com" not in client_for(admin).get("/settings/members/").content.decode()


def test_only_admins_may_invite(org, make_member, client_for):
    manager = make_member(org, Role.MANAGER)

    response = invite(client_for(manager))

    assert response.status_code == 403
    assert Invitation.unscoped.count() == 0


# Mail goes out when the invitation commits, as in a real request, so this
# test runs outside the usual per-test transaction.
@pytest.mark.django_db(transaction=True)
def test_invitation_whose_mail_cannot_be_sent_shows_the_link_instead(
    org, admin, client_for, settings
):
    from conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    client = client_for(admin)

    response = client.post("/settings/members/invite", {"email": "nia@example.com",
                                                         "role": "sales"}, follow=True)

    shown = [str(message) for message in response.context["messages"]]
    assert response.status_code == 200
    assert len(shown) == 1
    assert shown[0].startswith("The invitation is saved, but the e-mail to nia@example.com "
                               "could not be sent. Send them this link yourself: "
                               "http://testserver/invitations/")
