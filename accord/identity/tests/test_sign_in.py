from accord.identity.models import Role

PASSWORD = "correct-horse-battery-staple"
BAD_LOGIN = "The e-mail address or password is not correct."


def test_login_page_has_email_and_password_fields_and_sign_in_button(db, client):
    response = client.get("/login")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">E-mail</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button class="primary" type="submit">Sign in</button>' in html


def test_signing_in_goes_to_the_home_page(member, client):
    response = client.post("/login", {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(member.user.pk)


def test_signing_in_ignores_the_case_of_the_email(member, client):
    response = client.post("/login", {"username": member.user.email.upper(),
                                      "password": PASSWORD})

    assert response.status_code == 302


def test_signing_in_follows_a_safe_next_link(member, client):
    response = client.post("/login?next=/settings/members/",
                           {"username": member.user.email, "password": PASSWORD,
                            "next": "/settings/members/"})

    assert response["Location"] == "/settings/members/"


def test_wrong_password_shows_one_error(member, client):
    response = client.post("/login", {"username": member.user.email, "password": "nope"})

    assert response.status_code == 422
    assert response.content.decode().count(BAD_LOGIN) == 1
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_error_as_a_wrong_password(db, client):
    response = client.post("/login", {"username": "nobody@example.com", "password": "nope"})

    assert response.status_code == 422
    assert response.content.decode().count(BAD_LOGIN) == 1


def test_disabled_user_cannot_sign_in_and_learns_nothing_more(member, client):
    member.user.is_active = False
    member.user.save()

    response = client.post("/login", {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 422
    assert response.content.decode().count(BAD_LOGIN) == 1


def test_logout_is_post_only(member, client_for):
    client = client_for(member)

    assert client.get("/logout").status_code == 405
    response = client.post("/logout")

    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert "_auth_user_id" not in client.session


def test_signed_in_pages_send_anonymous_visitors_to_login(db, client):
    for path in ["/settings", "/profile", "/settings/members/", "/settings/api-tokens/"]:
        response = client.get(path)

        assert response.status_code == 302
        assert response["Location"] == f"/login?next={path}"


def test_settings_index_links_only_what_the_role_may_use(org, admin, make_member, client_for):
    read_only = make_member(org, Role.READ_ONLY)
    sales = make_member(org, Role.SALES)
    manager = make_member(org, Role.MANAGER)

    def links(membership):
        html = client_for(membership).get("/settings").content.decode()
        names = ["/settings/members/", "/settings/teams/", "/settings/api-tokens/",
                 "/settings/custom-fields/", "/settings/audit-log/"]
        return [name for name in names if f'href="{name}"' in html]

    assert links(admin) == ["/settings/members/", "/settings/teams/", "/settings/api-tokens/",
                            "/settings/custom-fields/", "/settings/audit-log/"]
    assert links(manager) == ["/settings/api-tokens/", "/settings/audit-log/"]
    assert links(sales) == ["/settings/api-tokens/"]
    assert links(read_only) == []
