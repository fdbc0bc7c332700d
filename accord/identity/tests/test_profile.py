from django.contrib.auth import get_user_model

from accord.identity.models import Role

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "plum-tree-orbit-lantern"


def test_user_changes_name_and_time_zone(member, client_for):
    client = client_for(member)

    response = client.post("/profile", {"full_name": " Samira Seller ",
                                        "time_zone": "Europe/Berlin"})

    assert response.status_code == 302
    assert response["Location"] == "/profile"
    member.user.refresh_from_db()
    assert (member.user.full_name, member.user.time_zone) == ("Samira Seller", "Europe/Berlin")
    assert "Your profile is saved." in client.get("/profile").content.decode()


def test_unknown_time_zone_is_refused_on_its_field(member, client_for):
    response = client_for(member).post("/profile", {"full_name": "Sam",
                                                    "time_zone": "Mars/Olympus"})

    assert response.status_code == 422
    assert "Select a valid choice. Mars/Olympus is not one of the available choices." in (
        response.content.decode())
    member.user.refresh_from_db()
    assert member.user.time_zone == "UTC"


def test_password_change_keeps_this_session_and_ends_the_others(member, client_for):
    here, elsewhere = client_for(member), client_for(member)

    response = here.post("/profile/password", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })

    assert response.status_code == 302
    assert here.get("/profile").status_code == 200
    assert elsewhere.get("/profile")["Location"] == "/login?next=/profile"
    member.user.refresh_from_db()
    assert member.user.check_password(NEW_PASSWORD)


def test_password_change_needs_the_current_password(member, client_for):
    response = client_for(member).post("/profile/password", {
        "old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })

    assert response.status_code == 422
    assert "Your old password was entered incorrectly." in response.content.decode()


def test_sign_out_everywhere_ends_every_session(member, client_for):
    here, elsewhere = client_for(member), client_for(member)

    response = here.post("/profile/sign-out-everywhere")

    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert here.get("/profile")["Location"] == "/login?next=/profile"
    assert elsewhere.get("/profile")["Location"] == "/login?next=/profile"
    member.user.refresh_from_db()
    assert member.user.session_generation == 1


def test_sign_out_everywhere_is_post_only(member, client_for):
    assert client_for(member).get("/profile/sign-out-everywhere").status_code == 405


def test_user_in_two_organizations_switches_between_them(org, other_org, make_member,
                                                        client_for):
    first = make_member(org, Role.SALES, email="both@example.com")
    make_member(other_org, Role.ADMIN, email="both@example.com")
    client = client_for(first)
    assert client.get("/settings/members/").status_code == 403

    page = client.get("/profile").content.decode()
    response = client.post("/switch-organization", {"organization": other_org.pk})

    assert "Switch to Contoso" in page
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["organization_id"] == other_org.pk
    assert client.get("/settings/members/").status_code == 200
    assert "Settings of Contoso" in client.get("/settings").content.decode()


def test_switching_to_an_organization_without_membership_answers_404(org, other_org, member,
                                                                     client_for):
    client = client_for(member)

    response = client.post("/switch-organization", {"organization": other_org.pk})

    assert response.status_code == 404
    assert client.session["organization_id"] == org.pk


def test_user_without_organization_sees_a_hint_in_settings(db, client):
    User.objects.create_user("loner@example.com", PASSWORD)
    client.login(username="loner@example.com", password=PASSWORD)

    html = client.get("/settings").content.decode()

    assert "You are not an active member of any organisation." in html


def test_after_signing_out_everywhere_signing_in_again_works(member, client_for, client):
    client_for(member).post("/profile/sign-out-everywhere")

    client.post("/login", {"username": member.user.email, "password": PASSWORD})

    assert client.get("/profile").status_code == 200
