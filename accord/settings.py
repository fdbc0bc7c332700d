"""Project settings, read from the environment with safe local defaults.

Every setting a deployment changes is an environment variable: DATABASE_URL,
BROKER_URL, SECRET_KEY, EMAIL_URL, STORAGE_URL, ALLOWED_HOSTS, DEBUG, PORT,
SMTP_PORT, WEBHOOK_ALLOWED_HOSTS and DEMO_PASSWORD.
"""

import os
from pathlib import Path

import dj_database_url
import dj_email_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ACCORD_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_whole_number(name: str, default: int) -> int:
    """A count such as seconds; ImproperlyConfigured naming `name` unless it is 0 or more."""
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    if not value.isascii() or not value.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number of 0 or more, not {value!r}.")
    return int(value)


def env_request_header(name: str) -> str | None:
    """An HTTP header name as Django's request.META spells it, given with or without HTTP_.

    `X-Forwarded-Proto`, `x_forwarded_proto` and `HTTP_X_FORWARDED_PROTO` are
    one header; anything but letters, digits, dashes and underscores is
    refused with ImproperlyConfigured naming `name`.
    """
    value = os.environ.get(name, "").strip()
    if value == "":
        return None
    key = value.upper().replace("-", "_")
    if key.startswith("HTTP_"):
        key = key.removeprefix("HTTP_")
    if not key or not key.isascii() or not key.replace("_", "").isalnum():
        raise ImproperlyConfigured(
            f"{name} must be a header name such as X-Forwarded-Proto, not {value!r}.")
    return f"HTTP_{key}"


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret_key() -> str:
    """Keep one random key per checkout so sessions survive a restart."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
PORT = int(os.environ.get("PORT", "8000"))
SMTP_PORT = int(os.environ.get("SMTP_PORT", "2525"))
# Hosts on a private network that webhooks and mailbox polls may reach.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", "")
# Fernet keys for secrets Accord must read back (see accord/crypto.py).
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS", "")
# Fernet keys for custom fields marked encrypted (see accord/core/crypto.py):
# the first encrypts, all decrypt. Empty means a key derived from SECRET_KEY,
# which `accord check --deploy` warns about.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
# API requests a token (or a signed-in user) may make per minute.
API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "600"))
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "")
# The public address used in links inside e-mails; empty means the local server.
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    # Installed so that the API docs page uses its bundled Swagger UI files
    # rather than fetching them from a CDN.
    "ninja",
    "accord.core",
    "accord.identity",
    "accord.audit",
    "accord.customers",
    "accord.activities",
    "accord.commerce",
    "accord.sales",
    "accord.service",
    "accord.marketing",
    "accord.automation",
    "accord.integrations",
    "accord.insights",
    "accord.reports",
    "accord.privacy",
    "accord.relationships",
    "accord.packs",
    "accord.records",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accord.core.security.ContentSecurityPolicyMiddleware",
    "accord.core.api_fallback.ApiProblemMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accord.identity.middleware.TenantMiddleware",
    "accord.identity.middleware.SessionActivityMiddleware",
    "accord.identity.middleware.TwoFactorRequiredMiddleware",
    "accord.core.ratelimit.RateLimitMiddleware",
    "accord.core.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "accord.urls"
WSGI_APPLICATION = "accord.wsgi.application"
AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "identity:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "accord" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accord.core.context_processors.workspace",
                "accord.customers.context_processors.saved_views",
                "accord.records.context_processors.record_types",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# SQLite is the zero-set-up default. WAL lets readers run beside the writer,
# busy_timeout makes a writer wait instead of failing, and IMMEDIATE takes the
# write lock at BEGIN so a read-then-write transaction cannot deadlock.
# Connections are kept between requests on both: a new SQLite connection
# reads the schema again and starts with an empty page cache, which cost a
# search request more than its queries did.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'accord.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA cache_size=-262144;"
            "PRAGMA foreign_keys=ON;"
        ),
    }
    # The name indexes also hold the name on PostgreSQL, so it counts a run of
    # names from the index alone; SQLite builds them without it, as intended.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        # Our user has one name field; Django's default list looks for others.
        "OPTIONS": {"user_attributes": ["email", "full_name"]},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        # Ten characters: long enough that guessing offline is slow, short
        # enough for a passphrase of three words.
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "accord" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
STORAGE_URL = os.environ.get("STORAGE_URL", "")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and "localhost" not in ALLOWED_HOSTS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HTTPS in production: HSTS for HSTS_SECONDS (0 sends none), plain HTTP
# redirected to HTTPS, and the proxy's header that says a request came over
# HTTPS. The health checks stay on plain HTTP for load balancers.
SECURE_HSTS_SECONDS = env_whole_number("HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if proxy_ssl_header := env_request_header("PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (proxy_ssl_header, "https")
# See accord/core/security.py; an empty CONTENT_SECURITY_POLICY sends none.
CONTENT_SECURITY_POLICY = os.environ.get("CONTENT_SECURITY_POLICY", (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Text messages (SMS): "outbox://" keeps them in Accord only (each is listed on
# the contact's timeline, nothing leaves the machine); an http(s):// URL is a
# gateway that takes a JSON POST per message (see docs/marketing.md).
SMS_URL = os.environ.get("SMS_URL", "outbox://")
SMS_FROM = os.environ.get("SMS_FROM", "Accord")

# With no EMAIL_URL, mail is written to the server's log instead of being
# sent, so invitations and password resets can be followed on one machine.
EMAIL_URL = os.environ.get("EMAIL_URL", "console://")
_email = dj_email_url.parse(EMAIL_URL)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Accord <no-reply@accord.localhost>")

# With no BROKER_URL the broker is a folder under var/, which needs no server
# and is shared by every process on this machine.
BROKER_URL = os.environ.get("BROKER_URL", "filesystem://")
CELERY_BROKER_URL = BROKER_URL
if BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # Kombu's own folder transport lets a worker read a message half written.
    CELERY_BROKER_TRANSPORT = "accord.core.broker:Transport"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Task modules not named tasks.py, which autodiscovery would miss.
CELERY_IMPORTS = ["accord.sales.lead_tasks", "accord.service.sla_tasks",
                  "accord.marketing.webform_tasks"]
CELERY_BEAT_SCHEDULE = {
    "wake-rule-runs": {
        "task": "accord.automation.tasks.wake_runs",
        "schedule": 60.0,  # waits are set in hours, retries in minutes
    },
    "check-dated-rules": {
        "task": "accord.automation.tasks.check_dated_rules",
        "schedule": 300.0,  # a daily rule starts within five minutes of its time
    },
    "send-due-reminders": {
        "task": "accord.activities.tasks.send_due_reminders",
        "schedule": 60.0,  # reminders are promised to the minute
    },
    "forget-old-sign-in-failures": {
        "task": "accord.identity.tasks.forget_old_sign_in_failures",
        "schedule": 900.0,  # the length of the lock-out window
    },
    "purge-trash": {
        "task": "accord.customers.tasks.purge_expired_trash",
        "schedule": 3600.0,
    },
    "purge-record-trash": {
        "task": "accord.records.tasks.purge_expired_trash",
        "schedule": 3600.0,
    },
    "scan-for-duplicates": {
        "task": "accord.customers.tasks.scan_for_duplicates",
        # Nightly, when few people edit: a scan of 100,000 contacts takes seconds.
        "schedule": crontab(hour=2, minute=30),
    },
    "delete-expired-exports": {
        "task": "accord.integrations.tasks.delete_expired_exports",
        "schedule": 3600.0,  # files are kept 7 days; an hour more is no matter
    },
    "forget-rate-counters": {
        "task": "accord.core.tasks.forget_rate_counters",
        "schedule": 300.0,
    },
    "refresh-planner-statistics": {
        "task": "accord.core.tasks.refresh_planner_statistics",
        "schedule": 3600.0,  # SQLite only; a sample of each index, well under a second
    },
    "forget-idempotent-requests": {
        "task": "accord.core.tasks.forget_idempotent_requests",
        "schedule": 3600.0,  # answers are kept a day; an hour more is no matter
    },
    "send-due-webhooks": {
        "task": "accord.integrations.tasks.send_due_webhooks",
        "schedule": 60.0,  # the shortest wait between two attempts is a minute
    },
    "run-due-product-feeds": {
        "task": "accord.commerce.tasks.run_due_product_feeds",
        "schedule": 300.0,  # feeds run hourly at most; five minutes late is no matter
    },
    "send-rot-reminders": {
        "task": "accord.sales.tasks.send_rot_reminders",
        "schedule": 3600.0,  # deals rot in days; an hour late is no matter
    },
    "compute-scores": {
        "task": "accord.insights.tasks.compute_scores",
        # Nightly, so recency counts whole days; orders changed during the
        # day are recomputed a minute after they change.
        "schedule": crontab(hour=3, minute=45),
    },
    "decay-lead-scores": {
        "task": "accord.sales.lead_tasks.decay_lead_scores",
        "schedule": crontab(hour=3, minute=15),  # periods are whole days
    },
    "forget-old-form-submissions": {
        "task": "accord.sales.lead_tasks.forget_old_form_submissions",
        "schedule": 600.0,  # the length of the web form throttle window
    },
    "resume-stalled-imports": {
        "task": "accord.integrations.tasks.resume_stalled_imports",
        "schedule": 60.0,  # a killed import waits at most its stall limit plus a minute
    },
    "poll-mailboxes": {
        "task": "accord.service.tasks.poll_mailboxes",
        "schedule": 60.0,  # support mail read within a minute of arriving
    },
    "send-scheduled-reports": {
        "task": "accord.reports.tasks.send_scheduled_reports",
        # Each report goes once per day, week or month; the first run of a
        # period, just after midnight in the organisation's zone, sends it.
        "schedule": 3600.0,
    },
    "check-slas": {
        "task": "accord.service.sla_tasks.check_slas",
        "schedule": 60.0,  # SLA targets are set in minutes
    },
    "forget-portal-sign-in-requests": {
        "task": "accord.service.tasks.forget_portal_sign_in_requests",
        "schedule": 900.0,  # the length of the portal's throttle window
    },
    "start-due-campaigns": {
        "task": "accord.marketing.tasks.start_due_campaigns",
        "schedule": 60.0,  # campaigns are scheduled to the minute
    },
    "resume-stalled-campaigns": {
        "task": "accord.marketing.tasks.resume_stalled_campaigns",
        "schedule": 60.0,
    },
    "run-retention-rules": {
        "task": "accord.privacy.tasks.run_retention_rules",
        # Nightly, after the duplicate scan and before scores are computed.
        "schedule": crontab(hour=3, minute=0),
    },
    "delete-expired-privacy-archives": {
        "task": "accord.privacy.tasks.delete_expired_archives",
        "schedule": 3600.0,  # archives are kept 7 days; an hour more is no matter
    },
    "run-due-sequences": {
        "task": "accord.marketing.tasks.run_due_sequences",
        "schedule": 60.0,  # waits are in hours and days; a minute late is on time
    },
    "enrol-new-segment-members": {
        "task": "accord.marketing.tasks.enrol_new_segment_members",
        "schedule": 600.0,  # resolving every segment is heavier than one due query
    },
    "send-satisfaction-surveys": {
        "task": "accord.service.sla_tasks.send_satisfaction_surveys",
        "schedule": 60.0,
    },
}

TRASH_RETENTION_DAYS = 30

# Campaign e-mails one organisation may send a second, over all workers (0:
# no limit); mail providers throttle or block senders that burst.
CAMPAIGN_SEND_RATE = int(os.environ.get("CAMPAIGN_SEND_RATE", "20"))
# A sending campaign whose job has not reported for this long has lost its
# worker and is resumed by the beat; a batch reports every few seconds.
CAMPAIGN_STALL_SECONDS = int(os.environ.get("CAMPAIGN_STALL_SECONDS", "120"))
# A sequence enrolment claimed by a worker is left alone this long; one that
# dies mid-batch has its enrolments claimed again afterwards.
SEQUENCE_LEASE_SECONDS = int(os.environ.get("SEQUENCE_LEASE_SECONDS", "600"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"keyvalue": {"()": "accord.logging.KeyValueFormatter"}},
    "filters": {"refusals": {"()": "accord.logging.RefusalsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "keyvalue"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                "django.request": {"filters": ["refusals"]}},
}
