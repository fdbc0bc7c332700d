"""Headers every page is served with: a script policy without inline script, no sniffing,
no framing, a same-origin referrer."""

import re
from pathlib import Path

from cryptography.fernet import Fernet
from django.test import Client

TEMPLATES = Path(__file__).resolve().parents[2]


def test_pages_carry_the_policy_and_the_other_headers(member, client_for):
    for client, path in [(Client(), "/login"), (client_for(member), "/contacts/")]:
        page = client.get(path)
        policy = page["Content-Security-Policy"]

        assert page.status_code == 200
        assert "script-src 'self';" in policy
        assert "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page["X-Content-Type-Options"] == "nosniff"
        assert page["Referrer-Policy"] == "same-origin"
        assert page["X-Frame-Options"] == "DENY"


def test_json_answers_and_the_api_docs_page_are_left_alone(member, api_client_for):
    answer = api_client_for(member).get("/api/v1/contacts")

    assert "Content-Security-Policy" not in answer
    assert "Content-Security-Policy" not in Client().get("/api/v1/docs")


def test_no_template_holds_inline_script_or_event_handlers():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
                 if inline_script.search(text := path.read_text(encoding="utf-8"))
                 or handler.search(text)]

    assert offenders == []


def deploy_check(tmp_path, **env):
    """`accord check --deploy` failing on warnings, with a production environment plus `env`."""
    import os
    import secrets
    import subprocess
    import sys

    base = {key: value for key, value in os.environ.items()
            if key not in {"DEBUG", "SECURE_COOKIES", "HSTS_SECONDS", "SSL_REDIRECT",
                           "PROXY_SSL_HEADER", "HSTS_INCLUDE_SUBDOMAINS", "HSTS_PRELOAD",
                           "DJANGO_SETTINGS_MODULE", "FIELD_ENCRYPTION_KEYS",
                           # Set by the browser tests of this process; a deployment
                           # never runs with it, and the check warns about it.
                           "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    base.update({"ACCORD_VAR_DIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50),
                 "ALLOWED_HOSTS": "crm.example.com", "DATABASE_URL": "sqlite:///:memory:",
                 "BROKER_URL": "filesystem://",
                 "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "accord", "check", "--deploy", "--fail-level", "WARNING"],
        env=base, capture_output=True, text=True, timeout=120)


def test_production_settings_pass_the_deployment_check(tmp_path):
    done = deploy_check(tmp_path, HSTS_SECONDS="31536000", SSL_REDIRECT="true",
                        PROXY_SSL_HEADER="X-Forwarded-Proto")

    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_bad_https_settings_are_refused_naming_the_variable(tmp_path):
    not_a_number = deploy_check(tmp_path, HSTS_SECONDS="abc")
    negative = deploy_check(tmp_path, HSTS_SECONDS="-5")
    bad_header = deploy_check(tmp_path, HSTS_SECONDS="31536000", PROXY_SSL_HEADER="X Proto!")

    for done in (not_a_number, negative):
        assert done.returncode != 0
        assert "ImproperlyConfigured: HSTS_SECONDS must be a whole number of 0 or more" in (
            done.stderr)
    assert bad_header.returncode != 0
    assert "ImproperlyConfigured: PROXY_SSL_HEADER must be a header name" in bad_header.stderr


def test_the_proxy_header_is_read_with_or_without_its_http_prefix(tmp_path):
    import os
    import subprocess
    import sys

    shown = {}
    for given in ("X-Forwarded-Proto", "HTTP_X_FORWARDED_PROTO", "http-x-forwarded-proto"):
        env = {**os.environ, "ACCORD_VAR_DIR": str(tmp_path), "PROXY_SSL_HEADER": given}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        done = subprocess.run(
            [sys.executable, "-m", "accord", "shell", "-c",
             "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"],
            env=env, capture_output=True, text=True, timeout=120)
        shown[given] = done.stdout.strip().splitlines()[-1]

    assert set(shown.values()) == {"('HTTP_X_FORWARDED_PROTO', 'https')"}


def test_the_deployment_check_names_what_a_production_set_up_left_out(tmp_path):
    done = deploy_check(tmp_path)
    without_keys = deploy_check(tmp_path, HSTS_SECONDS="31536000", SSL_REDIRECT="true",
                                PROXY_SSL_HEADER="X-Forwarded-Proto", FIELD_ENCRYPTION_KEYS="")

    assert done.returncode != 0
    assert "security.W004" in done.stderr  # no HSTS
    assert "security.W008" in done.stderr  # plain HTTP not redirected
    assert without_keys.returncode != 0
    assert "(accord.W010) FIELD_ENCRYPTION_KEYS is not set" in without_keys.stderr


def test_https_is_enforced_with_hsts_but_health_checks_stay_on_http(settings, member,
                                                                    client_for):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = client_for(member)

    plain = client.get("/contacts/")
    behind_proxy = client.get("/contacts/", headers={"X-Forwarded-Proto": "https"})
    health = Client().get("/healthz")

    assert (plain.status_code, plain["Location"]) == (301, "https://testserver/contacts/")
    assert behind_proxy.status_code == 200
    assert behind_proxy["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload")
    assert health.status_code == 200
