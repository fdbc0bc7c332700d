import datetime as dt

from django.utils import timezone

from accord.identity.models import SignInFailure
from accord.identity.tasks import forget_old_sign_in_failures

PASSWORD = "correct-horse-battery-staple"
LOCKED = ("Too many failed sign-ins. Try again in 15 minutes, or reset your password.")


def fail(client, email, times):
    for _ in range(times):
        client.post("/login", {"username": email, "password": "wrong-guess"})


def test_five_wrong_passwords_lock_the_address_even_for_the_right_one(member, client):
    fail(client, member.user.email, 5)

    response = client.post("/login", {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 422
    assert response.context["form"].non_field_errors() == [LOCKED]
    assert "_auth_user_id" not in client.session


def test_four_wrong_passwords_then_the_right_one_signs_in_and_clears_the_count(member, client):
    fail(client, member.user.email, 4)

    response = client.post("/login", {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert SignInFailure.objects.count() == 0


def test_an_unknown_address_is_locked_the_same_way(db, client):
    fail(client, "nobody@example.com", 5)

    response = client.post("/login", {"username": "nobody@example.com", "password": "x"})

    assert response.context["form"].non_field_errors() == [LOCKED]


def test_the_lock_lifts_when_the_window_has_passed(member, client):
    fail(client, member.user.email, 5)
    SignInFailure.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))

    response = client.post("/login", {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 302


def test_another_address_is_not_locked_by_someone_elses_failures(member, make_member, org,
                                                                 client):
    other = make_member(org, email="other@example.com")
    fail(client, member.user.email, 5)

    response = client.post("/login", {"username": other.user.email, "password": PASSWORD})

    assert response.status_code == 302


def test_failures_keep_no_email_address(member, client):
    fail(client, member.user.email, 1)

    stored = SignInFailure.objects.get()

    assert member.user.email not in stored.email_hash
    assert stored.ip == "127.0.0.1"


def test_the_scheduler_forgets_failures_older_than_the_window(member, client):
    fail(client, member.user.email, 3)
    SignInFailure.objects.filter(pk=SignInFailure.objects.first().pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=20))

    assert forget_old_sign_in_failures() == 1
    assert SignInFailure.objects.count() == 2
