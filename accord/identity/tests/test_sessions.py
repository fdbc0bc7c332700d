import datetime as dt
import re

from django.test import Client
from django.utils import timezone

from accord.identity import sessions
from accord.identity.models import UserSession

PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "plum-tree-orbit-lantern"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"


def signed_in(user, agent: str) -> Client:
    client = Client(headers={"User-Agent": agent})
    client.post("/login", {"username": user.email, "password": PASSWORD})
    client.get("/profile")
    return client


def test_session_list_shows_each_device_and_marks_this_one(member):
    laptop = signed_in(member.user, LAPTOP)
    signed_in(member.user, PHONE)

    html = laptop.get("/profile/sessions/").content.decode()

    assert html.count("<tr>") == 3
    assert re.search(re.escape(LAPTOP) + r' <span class="badge badge-ok">This session</span>',
                     html)
    assert PHONE + "</td>" in html
    assert html.count("127.0.0.1") == 2
    assert html.count('/sign-out"><input type="hidden" name="csrfmiddlewaretoken"') == 1


def test_signing_out_one_session_ends_it_on_that_device(member):
    laptop, phone = signed_in(member.user, LAPTOP), signed_in(member.user, PHONE)
    phone_row = UserSession.objects.get(user_agent=PHONE)

    response = laptop.post(f"/profile/sessions/{phone_row.pk}/sign-out")

    assert response["Location"] == "/profile/sessions/"
    assert phone.get("/profile")["Location"] == "/login?next=/profile"
    assert laptop.get("/profile").status_code == 200
    assert list(UserSession.objects.values_list("user_agent", flat=True)) == [LAPTOP]


def test_sign_out_everywhere_else_keeps_only_this_session(member):
    laptop = signed_in(member.user, LAPTOP)
    phone, tablet = signed_in(member.user, PHONE), signed_in(member.user, "Tablet")

    response = laptop.post("/profile/sessions/sign-out-others")

    assert response["Location"] == "/profile/sessions/"
    assert phone.get("/profile")["Location"] == "/login?next=/profile"
    assert tablet.get("/profile")["Location"] == "/login?next=/profile"
    assert laptop.get("/profile").status_code == 200
    assert list(UserSession.objects.values_list("user_agent", flat=True)) == [LAPTOP]


def test_someone_elses_session_cannot_be_ended(member, make_member, org):
    other = make_member(org, email="other@example.com")
    signed_in(other.user, PHONE)
    theirs = UserSession.objects.get(user=other.user)

    response = signed_in(member.user, LAPTOP).post(f"/profile/sessions/{theirs.pk}/sign-out")

    assert response.status_code == 404
    assert UserSession.objects.filter(pk=theirs.pk).exists()


def test_changing_the_password_signs_out_the_other_sessions(member):
    laptop, phone = signed_in(member.user, LAPTOP), signed_in(member.user, PHONE)

    laptop.post("/profile/password", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD})

    assert phone.get("/profile")["Location"] == "/login?next=/profile"
    assert laptop.get("/profile").status_code == 200
    assert list(UserSession.objects.values_list("user_agent", flat=True)) == [LAPTOP]


def test_signing_out_removes_the_session_from_the_list(member):
    laptop = signed_in(member.user, LAPTOP)

    laptop.post("/logout")

    assert UserSession.objects.count() == 0


def test_last_seen_is_written_at_most_once_a_minute(member):
    laptop = signed_in(member.user, LAPTOP)
    earlier = timezone.now() - dt.timedelta(minutes=5)
    UserSession.objects.update(last_seen_at=earlier)

    laptop.get("/profile")
    unchanged = UserSession.objects.get().last_seen_at
    session = laptop.session
    key, seen_at = session[sessions.SEEN_KEY]
    session[sessions.SEEN_KEY] = [key, seen_at - 61]
    session.save()
    laptop.get("/profile")

    assert unchanged == earlier
    assert UserSession.objects.get().last_seen_at > earlier


def test_sessions_that_ended_elsewhere_are_not_listed(member):
    laptop, phone = signed_in(member.user, LAPTOP), signed_in(member.user, PHONE)
    phone.session.flush()
    phone.session.delete(UserSession.objects.get(user_agent=PHONE).session_key)

    html = laptop.get("/profile/sessions/").content.decode()

    assert PHONE not in html
    assert UserSession.objects.count() == 1


def test_a_session_unused_for_longer_than_the_cookie_lives_is_not_listed(member, settings):
    laptop = signed_in(member.user, LAPTOP)
    signed_in(member.user, PHONE)
    UserSession.objects.filter(user_agent=PHONE).update(
        last_seen_at=timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60))

    html = laptop.get("/profile/sessions/").content.decode()

    assert PHONE not in html
    assert list(UserSession.objects.values_list("user_agent", flat=True)) == [LAPTOP]


def test_this_session_is_not_ended_from_the_list(member):
    laptop = signed_in(member.user, LAPTOP)
    own = UserSession.objects.get()

    response = laptop.post(f"/profile/sessions/{own.pk}/sign-out")

    assert response.status_code == 404
    assert laptop.get("/profile").status_code == 200
