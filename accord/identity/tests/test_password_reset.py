from .conftest import link_path

PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "plum-tree-orbit-lantern"


def test_reset_mail_arrives_with_a_link_that_sets_a_new_password(member, client, smtp_inbox):
    response = client.post("/password-reset", {"email": member.user.email})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent"
    recipients, subject, body = smtp_inbox.only()
    assert recipients == [member.user.email]
    assert subject == "Reset your Accord password"
    assert body.startswith("Someone asked to reset the password of your Accord account.")

    form_page = client.get(link_path(body), follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0],
                       {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.status_code == 302
    assert done["Location"] == "/password-reset/done"
    member.user.refresh_from_db()
    assert member.user.check_password(NEW_PASSWORD)
    signed_in = client.post("/login", {"username": member.user.email, "password": NEW_PASSWORD})
    assert signed_in["Location"] == "/"


def test_reset_link_works_only_once(member, client, smtp_inbox):
    client.post("/password-reset", {"email": member.user.email})
    _, _, body = smtp_inbox.only()
    form_page = client.get(link_path(body), follow=True)
    client.post(form_page.redirect_chain[-1][0],
                {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link_path(body), follow=True)

    assert "This link does not work any more" in again.content.decode()


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(db, client, smtp_inbox):
    response = client.post("/password-reset", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent"
    assert smtp_inbox.messages == []


def test_new_password_must_pass_the_password_rules(member, client, smtp_inbox):
    client.post("/password-reset", {"email": member.user.email})
    _, _, body = smtp_inbox.only()
    form_page = client.get(link_path(body), follow=True)

    response = client.post(form_page.redirect_chain[-1][0],
                           {"new_password1": "12345678", "new_password2": "12345678"})

    assert response.status_code == 422
    html = response.content.decode()
    assert "This password is too common." in html
    assert "This password is entirely numeric." in html
    member.user.refresh_from_db()
    assert member.user.check_password(PASSWORD)



def test_reset_request_when_mail_cannot_be_sent_still_answers_alike(member, client, settings):
    """A refused delivery is logged, and the page says what it says to anyone."""
    from conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens

    response = client.post("/password-reset", {"email": member.user.email})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent"
