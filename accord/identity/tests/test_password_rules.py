import pytest
from django_scopes import scope

from accord.identity import services

from .conftest import link_path

PASSWORD = "correct-horse-battery-staple"
TOO_SHORT = "This password is too short. It must contain at least 10 characters."


def change(client, new: str):
    return client.post("/profile/password", {"old_password": PASSWORD, "new_password1": new,
                                             "new_password2": new})


@pytest.mark.parametrize(("password", "message"), [
    ("plum-tree", TOO_SHORT),
    ("8391047265", "This password is entirely numeric."),
    ("password123", "This password is too common."),
    ("samseller1", "The password is too similar to the full name."),
])
def test_password_change_follows_each_rule_beside_the_field(member, client_for, password,
                                                            message):
    response = change(client_for(member), password)

    assert response.status_code == 422
    assert f'<p class="error" id="id_new_password2_error_1">{message}</p>' in (
        response.content.decode())
    member.user.refresh_from_db()
    assert member.user.check_password(PASSWORD)


def test_a_password_of_ten_characters_passes(member, client_for):
    response = change(client_for(member), "plum-trees")

    assert response.status_code == 302


def test_password_reset_refuses_a_short_password_beside_the_field(member, client, smtp_inbox):
    client.post("/password-reset", {"email": member.user.email})
    _, _, body = smtp_inbox.only()
    form_page = client.get(link_path(body), follow=True)

    response = client.post(form_page.redirect_chain[-1][0],
                           {"new_password1": "Qx7#plumb", "new_password2": "Qx7#plumb"})

    assert response.status_code == 422
    assert f'<p class="error" id="id_new_password2_error_1">{TOO_SHORT}</p>' in (
        response.content.decode())


def test_accepting_an_invitation_refuses_a_short_password_beside_the_field(org, admin, client):
    with scope(organization=org):
        invitation = services.invite_member(org, admin.user, email="new@example.com",
                                            role="sales", accept_url_template="/i/{token}")
    token = invitation.accept_url.rsplit("/", 1)[1]

    response = client.post(f"/invitations/{token}", {"full_name": "Nia Hire",
                                                     "password1": "Qx7#plumb",
                                                     "password2": "Qx7#plumb"})

    assert response.status_code == 422
    assert f'<p class="error" id="id_password1_error_1">{TOO_SHORT}</p>' in (
        response.content.decode())
