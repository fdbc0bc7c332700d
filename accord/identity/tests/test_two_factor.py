import importlib
import io
import re
import time

from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accord import crypto
from accord.audit.models import AuditEntry
from accord.identity import twofactor
from accord.identity.models import RecoveryCode, SignInFailure, TwoFactorDevice

from .conftest import code_for

encrypt_secrets = importlib.import_module(
    "accord.identity.migrations.0010_encrypt_two_factor_secrets")

PASSWORD = "correct-horse-battery-staple"
WRONG_CODE = "This code is not correct, or it was used already."
LOCKED = "Too many failed sign-ins. Try again in 15 minutes, or reset your password."


def sign_in_with_password(client, user, next_url: str | None = None):
    path = "/login" if next_url is None else f"/login?next={next_url}"
    data = {"username": user.email, "password": PASSWORD}
    if next_url is not None:
        data["next"] = next_url
    return client.post(path, data)


def audit_changes(org, entity: str) -> list[dict]:
    return list(AuditEntry.unscoped.filter(organization=org, entity=entity, action="access")
                .order_by("pk").values_list("changes", flat=True))


def test_setting_up_shows_a_qr_code_and_key_and_a_current_code_switches_it_on(
        member, client_for):
    client = client_for(member)
    intro = client.get("/profile/two-factor").content.decode()

    started = client.post("/profile/two-factor/start")
    setup = client.get("/profile/two-factor").content.decode()
    secret = TwoFactorDevice.objects.get(user=member.user).secret
    response = client.post("/profile/two-factor", {"code": code_for(secret)})

    assert "Set up two-factor sign-in" in intro
    assert started["Location"] == "/profile/two-factor"
    assert "<svg" in setup
    assert "QR code for your authenticator app" in setup
    assert f'<code id="two-factor-secret">{secret}</code>' in setup
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>",
                       response.content.decode())
    assert len(set(codes)) == 10
    assert twofactor.two_factor_enabled(member.user)
    assert RecoveryCode.objects.filter(user=member.user).count() == 10
    assert not any(code.replace("-", "") in hashed for code in codes
                   for hashed in RecoveryCode.objects.values_list("hashed", flat=True))
    after = client.get("/profile/two-factor").content.decode()
    assert "Two-factor sign-in is on" in after
    assert secret not in after
    assert audit_changes(member.organization, "user") == [{"two_factor": [None, "enabled"]}]


def test_a_wrong_code_does_not_switch_two_factor_on(member, client_for):
    client = client_for(member)
    client.post("/profile/two-factor/start")

    response = client.post("/profile/two-factor", {"code": "000000"})

    assert response.status_code == 422
    assert re.search(r'<p class="error" id="id_code_error_1">This code is not correct\. Enter '
                     r"the code your app shows now", response.content.decode())
    assert not twofactor.two_factor_enabled(member.user)
    assert RecoveryCode.objects.count() == 0


def test_sign_in_with_two_factor_asks_for_the_code_before_the_session_counts(
        enrolled, client):
    response = sign_in_with_password(client, enrolled.user)

    assert response.status_code == 302
    assert response["Location"] == "/login/code"
    assert "_auth_user_id" not in client.session
    assert client.get("/profile")["Location"] == "/login?next=/profile"
    assert "Enter your code" in client.get("/login/code").content.decode()

    done = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})

    assert done.status_code == 302
    assert done["Location"] == "/"
    assert client.session["_auth_user_id"] == str(enrolled.user.pk)
    assert client.get("/profile").status_code == 200


def test_sign_in_without_two_factor_asks_for_no_code(member, client):
    response = sign_in_with_password(client, member.user)

    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(member.user.pk)


def test_the_second_step_keeps_the_next_link(enrolled, client):
    sign_in_with_password(client, enrolled.user, next_url="/settings/api-tokens/")

    response = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})

    assert response["Location"] == "/settings/api-tokens/"


def test_the_code_page_without_a_right_password_sends_back_to_sign_in(enrolled, client):
    response = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})

    assert response["Location"] == "/login"
    assert "_auth_user_id" not in client.session


def test_the_code_step_runs_out_after_five_minutes(enrolled, client):
    sign_in_with_password(client, enrolled.user)
    session = client.session
    session[twofactor.PENDING_SINCE_KEY] = int(time.time()) - 301
    session.save()

    response = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})

    assert response["Location"] == "/login"
    assert "_auth_user_id" not in client.session


def test_a_used_code_cannot_be_replayed(enrolled, client):
    code = code_for(enrolled.secret, 1)
    sign_in_with_password(client, enrolled.user)
    client.post("/login/code", {"code": code})
    client.post("/logout")
    sign_in_with_password(client, enrolled.user)

    response = client.post("/login/code", {"code": code})

    assert response.status_code == 422
    assert response.context["form"].errors == {"code": [WRONG_CODE]}
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_signs_in_once(enrolled, client):
    code = enrolled.codes[3]
    sign_in_with_password(client, enrolled.user)
    first = client.post("/login/code", {"code": code.upper().replace("-", " ")})
    client.post("/logout")
    sign_in_with_password(client, enrolled.user)

    second = client.post("/login/code", {"code": code})

    assert first["Location"] == "/"
    assert second.status_code == 422
    assert second.context["form"].errors == {"code": [WRONG_CODE]}
    assert RecoveryCode.objects.filter(user=enrolled.user, used_at__isnull=False).count() == 1
    assert audit_changes(enrolled.membership.organization, "user")[-1] == {
        "recovery_code": [None, "used, 9 left"]}


def test_repeated_wrong_codes_lock_the_account_like_wrong_passwords(enrolled, client):
    sign_in_with_password(client, enrolled.user)
    for _ in range(5):
        client.post("/login/code", {"code": "123456"})

    with_code = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})
    with_password = sign_in_with_password(client, enrolled.user)

    assert with_code.status_code == 422
    assert with_code.context["form"].errors == {"code": [LOCKED]}
    assert with_password.status_code == 422
    assert with_password.context["form"].non_field_errors() == [LOCKED]
    assert "_auth_user_id" not in client.session


def test_the_right_password_does_not_clear_the_count_of_wrong_codes(enrolled, client):
    sign_in_with_password(client, enrolled.user)
    for _ in range(3):
        client.post("/login/code", {"code": "123456"})

    sign_in_with_password(client, enrolled.user)

    assert SignInFailure.objects.count() == 3
    client.post("/login/code", {"code": code_for(enrolled.secret, 1)})
    assert SignInFailure.objects.count() == 0


def test_switching_off_needs_a_current_code_or_the_password(enrolled, client_for):
    client = client_for(enrolled.membership)

    refused = client.post("/profile/two-factor/disable", {"password": "a-wrong-password"})
    empty = client.post("/profile/two-factor/disable", {})
    done = client.post("/profile/two-factor/disable", {"password": PASSWORD})

    assert refused.status_code == 422
    assert re.search(r'id="id_password_error_1">This password is not correct\.</p>',
                     refused.content.decode())
    assert empty.status_code == 422
    assert "Enter a current code from your app, or your password." in empty.content.decode()
    assert done["Location"] == "/profile/two-factor"
    assert not TwoFactorDevice.objects.filter(user=enrolled.user).exists()
    assert RecoveryCode.objects.filter(user=enrolled.user).count() == 0
    assert audit_changes(enrolled.membership.organization, "user")[-1] == {
        "two_factor": ["enabled", None]}


def test_switching_off_with_a_current_code(enrolled, client_for):
    client = client_for(enrolled.membership)

    response = client.post("/profile/two-factor/disable",
                           {"code": code_for(enrolled.secret, 1)})

    assert response.status_code == 302
    assert not twofactor.two_factor_enabled(enrolled.user)


def test_new_recovery_codes_replace_the_old_ones(enrolled, client_for, client):
    page = client_for(enrolled.membership).post("/profile/two-factor/recovery-codes",
                                                {"code": code_for(enrolled.secret, 1)})
    new_codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>",
                           page.content.decode())
    sign_in_with_password(client, enrolled.user)

    old = client.post("/login/code", {"code": enrolled.codes[0]})
    new = client.post("/login/code", {"code": new_codes[0]})

    assert len(new_codes) == 10
    assert not set(new_codes) & set(enrolled.codes)
    assert old.status_code == 422
    assert new["Location"] == "/"
    assert audit_changes(enrolled.membership.organization, "user")[-2] == {
        "recovery_codes": [None, "regenerated"]}


def test_new_recovery_codes_need_proof(enrolled, client_for):
    response = client_for(enrolled.membership).post("/profile/two-factor/recovery-codes",
                                                    {"code": "999999"})

    assert response.status_code == 422
    assert "This code is not correct." in response.content.decode()
    assert RecoveryCode.objects.filter(user=enrolled.user, used_at__isnull=True).count() == 10


def test_codes_one_step_either_side_are_accepted_and_older_ones_are_not(enrolled):
    device = TwoFactorDevice.objects.get(user=enrolled.user)
    TwoFactorDevice.objects.filter(pk=device.pk).update(last_used_step=None)

    too_old = twofactor.verify_second_factor(enrolled.user, code_for(enrolled.secret, -3))
    ahead = twofactor.verify_second_factor(enrolled.user, code_for(enrolled.secret, 1))
    now_after_ahead = twofactor.verify_second_factor(enrolled.user, code_for(enrolled.secret))

    assert (too_old, ahead, now_after_ahead) == (False, True, False)


def test_signing_in_with_one_of_the_last_recovery_codes_warns_to_make_new_ones(enrolled,
                                                                              client):
    ids = list(RecoveryCode.objects.filter(user=enrolled.user).order_by("pk")
               .values_list("pk", flat=True))
    RecoveryCode.objects.filter(pk__in=ids[:8]).update(used_at=timezone.now())
    sign_in_with_password(client, enrolled.user)

    response = client.post("/login/code", {"code": enrolled.codes[8]}, follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert "You have 1 recovery code left. Make new ones under Two-factor sign-in." in (
        response.content.decode())


def stored_secret(user) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_secret FROM identity_twofactordevice WHERE user_id = %s",
                       [user.pk])
        return cursor.fetchone()[0]


def test_the_secret_is_encrypted_in_its_column_and_codes_still_sign_in(enrolled, client):
    stored = stored_secret(enrolled.user)

    sign_in_with_password(client, enrolled.user)
    done = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})

    assert enrolled.secret not in stored
    assert crypto.decrypt(stored) == enrolled.secret
    assert done["Location"] == "/"
    assert client.session["_auth_user_id"] == str(enrolled.user.pk)


def test_clear_secrets_are_encrypted_by_the_migration_and_follow_key_rotation(enrolled, client,
                                                                               settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    TwoFactorDevice.objects.filter(user=enrolled.user).update(encrypted_secret=enrolled.secret)

    encrypt_secrets.decrypt_secrets(apps, None)
    untouched = stored_secret(enrolled.user)
    encrypt_secrets.encrypt_secrets(apps, None)
    encrypted = stored_secret(enrolled.user)
    settings.ENCRYPTION_KEYS = [new, old]
    call_command("rotate_secrets", stdout=io.StringIO())
    settings.ENCRYPTION_KEYS = [new]

    assert untouched == enrolled.secret
    assert enrolled.secret not in encrypted
    assert stored_secret(enrolled.user) != encrypted
    sign_in_with_password(client, enrolled.user)
    done = client.post("/login/code", {"code": code_for(enrolled.secret, 1)})
    assert done["Location"] == "/"
