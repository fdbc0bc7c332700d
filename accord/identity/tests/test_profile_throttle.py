"""The profile's password and code checks are under the sign-in lock-out: wrong current
passwords (changing the password) and wrong codes or passwords (switching two-factor off,
new recovery codes) count as failed sign-ins of the address, and once it is locked these
forms refuse even the right password or code, as signing in does."""

import datetime as dt

from django.utils import timezone

from accord.identity import twofactor
from accord.identity.models import RecoveryCode, SignInFailure

from .conftest import code_for

PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "plum-tree-orbit-lantern"
LOCKED = "Too many wrong passwords or codes. Try again in 15 minutes."
SIGN_IN_LOCKED = "Too many failed sign-ins. Try again in 15 minutes, or reset your password."


def change_password(client, old_password: str):
    return client.post("/profile/password", {
        "old_password": old_password, "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD})


def test_wrong_current_passwords_lock_the_password_form_even_for_the_right_one(
    member, client_for
):
    client = client_for(member)
    for _ in range(5):
        change_password(client, "a-wrong-guess")

    response = change_password(client, PASSWORD)

    assert response.status_code == 422
    assert response.context["form"].errors == {"old_password": [LOCKED]}
    member.user.refresh_from_db()
    assert member.user.check_password(PASSWORD)
    assert SignInFailure.objects.count() == 5


def test_wrong_codes_lock_switching_two_factor_off_even_for_a_right_code(enrolled, client_for):
    client = client_for(enrolled.membership)
    for _ in range(5):
        client.post("/profile/two-factor/disable", {"code": "123456"})

    with_code = client.post("/profile/two-factor/disable", {"code": code_for(enrolled.secret)})
    with_password = client.post("/profile/two-factor/disable", {"password": PASSWORD})

    assert with_code.status_code == 422
    assert with_code.context["prove_form"].non_field_errors() == [LOCKED]
    assert with_password.status_code == 422
    assert LOCKED in with_password.content.decode()
    assert twofactor.two_factor_enabled(enrolled.user)


def test_wrong_passwords_lock_new_recovery_codes_even_for_the_right_password(
    enrolled, client_for
):
    client = client_for(enrolled.membership)
    codes = set(RecoveryCode.objects.filter(user=enrolled.user).values_list("pk", flat=True))
    for _ in range(5):
        client.post("/profile/two-factor/recovery-codes", {"password": "a-wrong-guess"})

    response = client.post("/profile/two-factor/recovery-codes", {"password": PASSWORD})

    assert response.status_code == 422
    assert response.context["prove_form"].non_field_errors() == [LOCKED]
    assert set(RecoveryCode.objects.filter(user=enrolled.user).values_list(
        "pk", flat=True)) == codes


def test_the_profile_and_sign_in_count_toward_one_lock(member, client_for, client):
    profile = client_for(member)
    for _ in range(3):
        change_password(profile, "a-wrong-guess")
    for _ in range(2):
        client.post("/login", {"username": member.user.email, "password": "a-wrong-guess"})

    sign_in = client.post("/login", {"username": member.user.email, "password": PASSWORD})
    change = change_password(profile, PASSWORD)

    assert sign_in.status_code == 422
    assert sign_in.context["form"].non_field_errors() == [SIGN_IN_LOCKED]
    assert change.context["form"].errors == {"old_password": [LOCKED]}


def test_a_right_answer_while_locked_leaves_the_lock_and_it_lifts_after_the_window(
    member, client_for
):
    client = client_for(member)
    for _ in range(5):
        change_password(client, "a-wrong-guess")
    change_password(client, PASSWORD)
    still = SignInFailure.objects.count()
    SignInFailure.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))

    response = change_password(client, PASSWORD)

    assert still == 5
    assert response.status_code == 302
    member.user.refresh_from_db()
    assert member.user.check_password(NEW_PASSWORD)


def test_four_wrong_answers_leave_the_right_one_accepted(enrolled, client_for):
    client = client_for(enrolled.membership)
    for _ in range(4):
        client.post("/profile/two-factor/disable", {"password": "a-wrong-guess"})

    response = client.post("/profile/two-factor/disable", {"password": PASSWORD})

    assert response.status_code == 302
    assert not twofactor.two_factor_enabled(enrolled.user)


def test_a_code_and_a_password_sent_together_count_as_two_guesses(enrolled, client_for):
    client = client_for(enrolled.membership)
    for _ in range(3):
        client.post("/profile/two-factor/disable", {"code": "123456",
                                                    "password": "a-wrong-guess"})

    response = client.post("/profile/two-factor/disable", {"password": PASSWORD})

    assert SignInFailure.objects.count() == 6
    assert response.context["prove_form"].non_field_errors() == [LOCKED]
