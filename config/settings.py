"""Settings from the environment, with embedded defaults for a single-process local studio.

Embedded: SQLite, the in-memory channel layer, the in-process runtime and memory store.
Scale-out: DATABASE_URL (any dj-database-url form) and REDIS_URL (channels_redis).
Production: DJANGO_DEBUG=0 with DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("FLOWYARD_STATE_DIR", BASE_DIR / ".flowyard"))


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_flag("DJANGO_DEBUG", True)


def local_secret_key() -> str:
    """A per-checkout key kept in .flowyard/, so no secret is ever committed or shared."""
    key_file = STATE_DIR / "secret_key"
    if not key_file.exists():
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = local_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "designer",
    "hosting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.security.csp_nonce",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
    )
}
# Test databases are named per process so parallel test runs on one machine never share one.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads and processes write (requests, the run host, the `runs` CLI): writers
    # wait for each other (busy timeout) and take the write lock when they begin (IMMEDIATE),
    # so a read-then-write transaction never fails with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # The browser tests' server runs in a child process, which cannot share an in-memory DB.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test_db_{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

REDIS_URL = os.environ.get("REDIS_URL", "")
# group_send drops silently past a channel's capacity (default 100); live frames are coalesced to
# at most one per tick, so 1,000 is room for several seconds of a stalled client.
CHANNEL_CAPACITY = int(os.environ.get("FLOWYARD_CHANNEL_CAPACITY", "1000"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels_redis waits on a channel with a 5 s blocking pop; redis-py 8 times a read
            # out after 5 s by default, which would fail every wait that lasts the full pop.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "capacity": CHANNEL_CAPACITY,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": 60},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "designer.auth.LoginTokenBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "designer:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads and request bodies: topology imports are capped at 5 MB by runtime.spec as well.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# Security headers; the secure-cookie and HTTPS settings switch on when DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None

# One-time login links printed by `make run` expire after this many seconds.
FLOWYARD_LOGIN_TOKEN_TTL = int(os.environ.get("FLOWYARD_LOGIN_TOKEN_TTL", "86400"))

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}

# Live runtime: the coalescing tick of live frames (seconds), the email targets' sending rate
# (emails per second, like SES's maximum send rate) and the hosts webhooks may reach although
# they resolve to private or loopback addresses (host names, IPs or CIDR blocks).
FLOWYARD_LIVE_TICK = float(os.environ.get("FLOWYARD_LIVE_TICK", "0.05"))
FLOWYARD_EMAIL_RATE = float(os.environ.get("FLOWYARD_EMAIL_RATE", "50"))
FLOWYARD_OUTBOUND_ALLOW = env_list("FLOWYARD_OUTBOUND_ALLOW", [])

# Run state (reliability R1-R3, R19): where a run's queues, streams and offsets are kept.
# "sqlite" (the embedded default: one WAL file per topology under FLOWYARD_RUNS_DIR), "redis"
# (the default when REDIS_URL is set: keys under FLOWYARD_REDIS_PREFIX, one namespace per
# topology) or "memory" (ephemeral: lost with the process, and said so wherever it is shown).
# FLOWYARD_SQLITE_SYNCHRONOUS: NORMAL survives a process crash, FULL also a power loss.
FLOWYARD_RUN_STORE = os.environ.get("FLOWYARD_RUN_STORE", "redis" if REDIS_URL else "sqlite")
FLOWYARD_RUNS_DIR = Path(os.environ.get("FLOWYARD_RUNS_DIR", STATE_DIR / "runs"))
FLOWYARD_SQLITE_SYNCHRONOUS = os.environ.get("FLOWYARD_SQLITE_SYNCHRONOUS", "NORMAL").upper()
FLOWYARD_REDIS_PREFIX = os.environ.get("FLOWYARD_REDIS_PREFIX", "")
# Who runs engines: "web" (the embedded default: the server process hosts runs) or "workers"
# (the default with REDIS_URL: `manage.py runtime_worker` processes host them under Redis leases
# and web processes only send them commands and calls).
FLOWYARD_HOSTING = os.environ.get("FLOWYARD_HOSTING", "workers" if REDIS_URL else "web")
# Seconds a worker's lease on a run outlives its last renewal: how long a dead worker's runs
# wait before another worker takes them over.
FLOWYARD_LEASE_TTL = float(os.environ.get("FLOWYARD_LEASE_TTL", "10"))
# A hosting server process resumes the runs that were running when it (or its predecessor)
# stopped, and carries out the `runs` CLI's commands.
FLOWYARD_RESUME_RUNS = env_flag("FLOWYARD_RESUME_RUNS", True)
