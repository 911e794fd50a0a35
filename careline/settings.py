"""CareLine settings: every knob is a CARELINE_* environment variable (see README.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from careline.env import (
    envbool,
    envfile,
    envint,
    envlist,
    envregex,
    envsecret,
    envstr,
    envtimezone,
)
from careline.oncall.channels import config as channel_config
from careline.oncall.smtp import SmtpConfig

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("CARELINE_DATA_DIR", str(Path.cwd() / "var"))).resolve()

SECRET_KEY = envsecret("CARELINE_SECRET_KEY", DATA_DIR, "secret.key")
# Keys for secrets stored in the database (check credentials, TOTP seeds, SMTP passwords).
# Comma-separated; the first encrypts, all decrypt, so a key can be rotated.
ENCRYPTION_KEYS = envsecret("CARELINE_ENCRYPTION_KEYS", DATA_DIR, "encryption.key").split(",")
DEBUG = envbool("CARELINE_DEBUG", False)

HOST = envstr("CARELINE_HOST", "127.0.0.1")
PORT = envint("CARELINE_PORT", 8000, minimum=1, maximum=65535)
BASE_URL = envstr("CARELINE_BASE_URL", f"http://{HOST}:{PORT}").rstrip("/")
# Requests are mostly CPU: one process per core (Granian's connection handling runs outside
# Python), two threads each.
WEB_WORKERS = envint("CARELINE_WEB_WORKERS", min(16, os.cpu_count() or 1), minimum=1, maximum=64)
WEB_THREADS = envint("CARELINE_WEB_THREADS", 2, minimum=1, maximum=64)

ALLOWED_HOSTS = envlist("CARELINE_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = envlist("CARELINE_CSRF_TRUSTED_ORIGINS", [BASE_URL])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "careline.core",
    "careline.engine",
    "careline.servicedesk",
    "careline.oncall",
    "careline.cmdb",
    "careline.knowledge",
    "careline.monitoring",
    "careline.changes",
    "careline.continuity",
    "careline.reports",
    "careline.reports.morning",
    "careline.training",
]

MIDDLEWARE = [
    # Heartbeat pings are answered first: they need none of what follows.
    "careline.monitoring.pings.HeartbeatMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "careline.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "careline.core.middleware.IdleSessionMiddleware",
    "careline.core.middleware.LoginRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "careline.urls"
WSGI_APPLICATION = "careline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "careline.core.context.navigation",
                "careline.reports.status.context.status_page",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
        options = config.setdefault("OPTIONS", {})
        # Parameters bound by the server, so the statements every request runs are prepared
        # once per connection and not planned again each time (planning a seven-table join
        # costs more than running it). Not for PgBouncer in transaction mode: set
        # CARELINE_PG_PREPARE=0 behind one.
        if envbool("CARELINE_PG_PREPARE", True):
            options.setdefault("server_side_binding", True)
            options.setdefault("prepare_threshold", 2)
        config["TEST"] = {"NAME": os.environ.get("CARELINE_TEST_DATABASE", None)}
        return config
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        # Django's SQLite backend with writers queued on a file lock (careline/dbbackends).
        "ENGINE": "careline.dbbackends.sqlite3",
        # Keep connections: opening one runs the PRAGMAs below every time.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        "NAME": envstr("CARELINE_SQLITE_PATH", str(DATA_DIR / "careline.sqlite3")),
        "OPTIONS": {
            # WAL lets readers run while one writer writes; IMMEDIATE takes the write lock at
            # BEGIN so two writers queue on the busy timeout instead of failing with
            # "database is locked" when a read transaction tries to upgrade.
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"),
            "transaction_mode": "IMMEDIATE",
            "timeout": envint("CARELINE_SQLITE_BUSY_TIMEOUT_S", 20, minimum=1),
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

SESSION_IDLE_MINUTES = envint("CARELINE_SESSION_IDLE_MINUTES", 15, minimum=1, maximum=24 * 60)
# Idle expiry is enforced by IdleSessionMiddleware; the cookie age is the absolute cap.
SESSION_COOKIE_AGE = envint("CARELINE_SESSION_MAX_HOURS", 12, minimum=1, maximum=24 * 7) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LOGIN_LOCKOUT_FAILURES = envint("CARELINE_LOGIN_LOCKOUT_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = envint("CARELINE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
MFA_ROLES = envlist("CARELINE_MFA_ROLES", ["agent", "engineer", "manager", "auditor", "admin"])
MFA_ISSUER = envstr("CARELINE_MFA_ISSUER", "CareLine")
# The access review calls an account dormant after this many days without a sign-in.
DORMANT_DAYS = envint("CARELINE_DORMANT_DAYS", 90, minimum=1, maximum=3660)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = envtimezone("CARELINE_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files are served from the installed packages by WhiteNoise; no collectstatic step.
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_AUTOREFRESH = DEBUG

# Request bodies: the API refuses anything larger with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("CARELINE_MAX_BODY_BYTES", 1_048_576, minimum=1024)

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500
# ninja's limit/offset pagination with the offset bounded (a 422 naming it, not a 500).
NINJA_PAGINATION_CLASS = "careline.core.pagination.LimitOffset"

# The hospital's own medical record number format, a regular expression (e.g. "\\bNG\\d{7}\\b").
PHI_LOCAL_MRN_PATTERN = envregex("CARELINE_MRN_PATTERN", "")
MAX_ATTACHMENT_BYTES = envint("CARELINE_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, minimum=1024)
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 20_000
REOPEN_DAYS = envint("CARELINE_REOPEN_DAYS", 7, minimum=0, maximum=90)
# Advisory board approvals a normal change needs (the requester's own never counts).
CHANGE_APPROVALS = envint("CARELINE_CHANGE_APPROVALS", 1, minimum=1, maximum=20)

# Email out. Empty SMTP URL: messages wait in the outbox until one is configured.
SMTP_URL = envstr("CARELINE_SMTP_URL", "")
if SMTP_URL:
    SmtpConfig.from_url(SMTP_URL)  # a malformed URL stops start-up, naming the variable
MAIL_DOMAIN = envstr("CARELINE_MAIL_DOMAIN", urlsplit(BASE_URL).hostname or "localhost")
MAIL_FROM = envstr("CARELINE_MAIL_FROM", f"CareLine <careline@{MAIL_DOMAIN}>")
SLA_WATCH_INTERVAL_SECONDS = envint(
    "CARELINE_SLA_WATCH_INTERVAL_SECONDS", 30, minimum=5, maximum=600
)
OUTBOX_INTERVAL_SECONDS = envint("CARELINE_OUTBOX_INTERVAL_SECONDS", 5, minimum=1, maximum=300)

# On-call and paging. An acknowledgement link in a page works this many hours; incidents
# sharing a service or root cause within the storm window join one page instead of paging
# again; the escalation loop looks for due levels this often.
ONCALL_ACK_LINK_HOURS = envint("CARELINE_ONCALL_ACK_LINK_HOURS", 24, minimum=1, maximum=168)
ONCALL_STORM_WINDOW_SECONDS = envint(
    "CARELINE_ONCALL_STORM_WINDOW_SECONDS", 300, minimum=0, maximum=3600
)
ONCALL_ESCALATION_INTERVAL_SECONDS = envint(
    "CARELINE_ONCALL_ESCALATION_INTERVAL_SECONDS", 5, minimum=1, maximum=300
)
# Who is told when nobody acknowledges after the last round (an IT manager's username).
ONCALL_FINAL_USERNAME = envstr("CARELINE_ONCALL_FINAL_USERNAME", "")
# Phone numbers typed without a country code (contact methods) are read as this region's.
PHONE_REGION = envstr("CARELINE_PHONE_REGION", "US")

# Downtime: a planned one is announced to the affected departments this many working days
# ahead (the site's business calendar); the downtime loop looks for due work this often.
DOWNTIME_NOTICE_DAYS = envint("CARELINE_DOWNTIME_NOTICE_DAYS", 5, minimum=0, maximum=60)
DOWNTIME_INTERVAL_SECONDS = envint(
    "CARELINE_DOWNTIME_INTERVAL_SECONDS", 30, minimum=1, maximum=3600
)
# Recovery: the RPO watch compares every backup job's newest good backup with its service's
# RPO this often.
RECOVERY_INTERVAL_SECONDS = envint(
    "CARELINE_RECOVERY_INTERVAL_SECONDS", 60, minimum=1, maximum=3600
)

# Training: everyone registered for a session is emailed this many hours before it starts.
TRAINING_REMINDER_HOURS = envint("CARELINE_TRAINING_REMINDER_HOURS", 24, minimum=1, maximum=24 * 14)

# The status page (/status/): signed-in staff always; anonymous visitors only when it is
# public and they come from one of these networks (checked at start-up, see reports.status).
STATUS_PUBLIC = envbool("CARELINE_STATUS_PUBLIC", False)
STATUS_NETWORKS = envlist(
    "CARELINE_STATUS_NETWORKS",
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7"],
)
# Scheduled maintenance is listed this many days ahead.
STATUS_AHEAD_DAYS = envint("CARELINE_STATUS_AHEAD_DAYS", 7, minimum=1, maximum=90)

# Dashboards (/reports/): each clinical service's uptime target in per cent, for tiers 1, 2
# and 3; and the local hours at a page's site when a page counts as a night page (both
# checked at start-up by reports.dashboards.config).
UPTIME_TARGETS = envlist("CARELINE_UPTIME_TARGETS", ["99.9", "99.5", "99.0"])
NIGHT_HOURS = envstr("CARELINE_NIGHT_HOURS", "22:00-07:00")

# The morning check: each site's at this wall-clock time in the site's zone, emailed to these
# addresses (default: the service-desk queue's members); handovers at each shift end (local
# times). Checked at start-up, naming the variable (see reports.morning.schedule).
MORNING_CHECK_HOUR = envstr("CARELINE_MORNING_CHECK_HOUR", "07:00")
MORNING_CHECK_TO = envlist("CARELINE_MORNING_CHECK_TO", [])
HANDOVER_TIMES = envlist("CARELINE_HANDOVER_TIMES", ["07:00", "19:00"])

# --- delivery channels (SMS, voice, chat, webhooks) ---
# The outbox dispatcher looks for due messages this often: a page must leave within a second
# of its cause. CARELINE_OUTBOX_INTERVAL_SECONDS, the older knob, is its default when set.
OUTBOX_POLL_MS = envint(
    "CARELINE_OUTBOX_POLL_MS",
    OUTBOX_INTERVAL_SECONDS * 1000 if os.environ.get("CARELINE_OUTBOX_INTERVAL_SECONDS") else 200,
    minimum=10,
    maximum=300_000,
)
# One send gives up after the timeout; a claim outlasts it, so a live dispatcher never loses
# its message to another engine, and a dead one's messages come back when the claim lapses.
OUTBOX_SEND_TIMEOUT_S = envint("CARELINE_OUTBOX_SEND_TIMEOUT_S", 15, minimum=1, maximum=300)
OUTBOX_CLAIM_SECONDS = envint(
    "CARELINE_OUTBOX_CLAIM_SECONDS", 120, minimum=OUTBOX_SEND_TIMEOUT_S + 1, maximum=3600
)
# Retries wait base, 2 x base, 4 x base, ... (at most an hour); a message still failing after
# the last attempt becomes a dead letter (with the defaults: after about nine hours).
OUTBOX_BACKOFF_BASE_MS = envint(
    "CARELINE_OUTBOX_BACKOFF_BASE_MS", 15_000, minimum=10, maximum=3_600_000
)
OUTBOX_MAX_ATTEMPTS = envint("CARELINE_OUTBOX_MAX_ATTEMPTS", 12, minimum=1, maximum=50)
# Messages in flight at once, and at once to one receiver (the SMTP server, counted in
# connections; the SMS gateway; one webhook target): a slow receiver cannot hold up the rest.
OUTBOX_CONCURRENCY = envint("CARELINE_OUTBOX_CONCURRENCY", 100, minimum=1, maximum=5000)
OUTBOX_PER_RECEIVER = envint("CARELINE_OUTBOX_PER_RECEIVER", 8, minimum=1, maximum=500)

# SMS and voice calls leave through one HTTP gateway: "twilio" (Twilio's REST API, or any
# service speaking it at CARELINE_TWILIO_API_URL) or "http" (a JSON request built from a
# template). Unset: they wait in the outbox until one is configured.
GATEWAY = channel_config.choice(
    "CARELINE_GATEWAY", envstr("CARELINE_GATEWAY", "").strip().lower(), channel_config.GATEWAYS
)
GATEWAY_FROM = channel_config.phone_number(
    "CARELINE_GATEWAY_FROM", envstr("CARELINE_GATEWAY_FROM", ""), required=GATEWAY == "twilio"
)
TWILIO_API_URL = channel_config.http_url(
    "CARELINE_TWILIO_API_URL", envstr("CARELINE_TWILIO_API_URL", "https://api.twilio.com")
)
TWILIO_ACCOUNT_SID = ""
TWILIO_AUTH_TOKEN = ""
if GATEWAY == "twilio":
    TWILIO_ACCOUNT_SID = channel_config.twilio_sid(
        "CARELINE_TWILIO_ACCOUNT_SID", envstr("CARELINE_TWILIO_ACCOUNT_SID", "")
    )
    TWILIO_AUTH_TOKEN = envsecret(
        "CARELINE_TWILIO_AUTH_TOKEN", DATA_DIR, "twilio-auth-token", generate=False
    )
GATEWAY_SMS_URL = channel_config.http_url(
    "CARELINE_GATEWAY_SMS_URL", envstr("CARELINE_GATEWAY_SMS_URL", "")
)
GATEWAY_VOICE_URL = channel_config.http_url(
    "CARELINE_GATEWAY_VOICE_URL", envstr("CARELINE_GATEWAY_VOICE_URL", "")
)
if GATEWAY == "http":
    channel_config.require(
        "CARELINE_GATEWAY_SMS_URL",
        GATEWAY_SMS_URL or GATEWAY_VOICE_URL,
        "(or CARELINE_GATEWAY_VOICE_URL) when CARELINE_GATEWAY is http",
    )
# Sent as `Authorization: Bearer <token>` to the http gateway, when set.
GATEWAY_TOKEN = (
    envsecret("CARELINE_GATEWAY_TOKEN", DATA_DIR, "gateway-token", generate=False)
    if os.environ.get("CARELINE_GATEWAY_TOKEN") or os.environ.get("CARELINE_GATEWAY_TOKEN_FILE")
    else ""
)
GATEWAY_SMS_TEMPLATE = channel_config.json_template(
    "CARELINE_GATEWAY_SMS_TEMPLATE",
    envstr("CARELINE_GATEWAY_SMS_TEMPLATE", '{"to": "{to}", "from": "{from}", "text": "{body}"}'),
)
GATEWAY_VOICE_TEMPLATE = channel_config.json_template(
    "CARELINE_GATEWAY_VOICE_TEMPLATE",
    envstr("CARELINE_GATEWAY_VOICE_TEMPLATE", '{"to": "{to}", "from": "{from}", "say": "{body}"}'),
)
# --- end of delivery channels ---

# Monitoring: how many checks run at once per engine, where incidents are logged and
# announced, and how long check history is kept (raw, then per-minute, then per-hour).
MONITOR_CONCURRENCY = envint("CARELINE_MONITOR_CONCURRENCY", 500, minimum=1, maximum=20_000)
# Processes an engine runs checks in (itself and helpers it starts): one runs about 500
# checks a second, enough for 10,000 monitors every 30 s; add one per 500 checks a second.
MONITOR_PROCESSES = envint("CARELINE_MONITOR_PROCESSES", 1, minimum=1, maximum=64)
# The hospital's own CA (PEM), trusted by checks besides the system's store.
MONITOR_CA_FILE = envfile("CARELINE_MONITOR_CA_FILE")
MONITOR_DEPARTMENT = envstr("CARELINE_MONITOR_DEPARTMENT", "")
MONITOR_ALERT_EMAIL = envstr("CARELINE_MONITOR_ALERT_EMAIL", "")
MONITOR_NOTE_MINUTES = envint("CARELINE_MONITOR_NOTE_MINUTES", 30, minimum=1, maximum=1440)
MONITOR_RAW_DAYS = envint("CARELINE_MONITOR_RAW_DAYS", 7, minimum=1, maximum=90)
MONITOR_MINUTE_DAYS = envint("CARELINE_MONITOR_MINUTE_DAYS", 35, minimum=1, maximum=400)
MONITOR_HOUR_DAYS = envint("CARELINE_MONITOR_HOUR_DAYS", 400, minimum=1, maximum=3660)
HEARTBEAT_BODY_BYTES = envint("CARELINE_HEARTBEAT_BODY_BYTES", 10_000, minimum=0, maximum=100_000)

DB_OPTIMISE_INTERVAL_SECONDS = envint("CARELINE_DB_OPTIMISE_INTERVAL_SECONDS", 6 * 3600, minimum=60)

ENGINE_LEASE_SECONDS = envint("CARELINE_ENGINE_LEASE_SECONDS", 20, minimum=3, maximum=300)
ENGINE_TICK_SECONDS = envint("CARELINE_ENGINE_TICK_SECONDS", 5, minimum=1, maximum=60)

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("CARELINE_LOG_LEVEL", "INFO")},
    # aiosmtpd logs every SMTP command at INFO; CareLine logs one line per message itself.
    "loggers": {"django.db.backends": {"level": "INFO"}, "mail.log": {"level": "WARNING"}},
}
