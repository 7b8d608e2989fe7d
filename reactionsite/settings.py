"""Settings for reactionsite, read from environment variables with safe local defaults.

Nothing set: DEBUG off, SQLite under ``var/``, the in-memory channel layer and a
local-memory cache. ``DATABASE_URL`` and ``REDIS_URL`` switch to the scale-out
setup (PostgreSQL, Redis channel layer and cache). A bad value stops start-up
with a message naming the variable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from inference import ConfigurationError, ServingConfig
from reactionsite.env import env_bool, env_int, env_list, env_path, env_rate, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("DATA_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The base of the participant links that the admin hands out, e.g. https://study.example.org.
# Empty: links are built from the address the organizer is using.
PUBLIC_BASE_URL = (env_url("PUBLIC_BASE_URL", schemes={"http", "https"}) or "").rstrip("/")
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Browsers that saw the site over HTTPS never try plain HTTP again for this long.
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600, minimum=0)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "screenings",
    "inference",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "reactionsite.urls"
WSGI_APPLICATION = "reactionsite.wsgi.application"
ASGI_APPLICATION = "reactionsite.asgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_url("DATABASE_URL", schemes={"postgres", "postgresql", "sqlite"})
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # Kept open between requests and capture calls: opening one (with its pragmas) costs
            # more than storing a sample.
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            # Several ASGI workers and threads write samples at once: wait for the lock
            # instead of failing, and take it up front so transactions never deadlock.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # The test database is a file too, as in production, not Django's shared in-memory one:
            # in that one a write in one thread makes another thread's query fail at once ("database
            # table is locked") instead of waiting out the timeout above, and live capture writes
            # from several threads. One file per test run, so that two runs never share it.
            "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"reactionsite-test-{os.getpid()}.sqlite3")},
        }
    }

REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss"})
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # redis-py 8 gives up on a read after 5 s, exactly as long as channels-redis blocks waiting for
    # a message: an idle consumer then fails with "Timeout reading". Reads may take longer than that.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Background jobs (media analyses) go through Django's Tasks API. The database backend needs
# nothing beyond the database, so `make run` works as is; with Redis they go to RQ. Either way
# queued jobs are stored outside the web process and survive a restart (docs/analyses.md).
TASK_QUEUE = env_str("TASK_QUEUE", "rq" if REDIS_URL else "database")
if TASK_QUEUE == "rq":
    if not REDIS_URL:
        raise ImproperlyConfigured("TASK_QUEUE=rq needs REDIS_URL")
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {
        "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("TASK_TIMEOUT_SECONDS", 6 * 3600, minimum=60)}
    }
elif TASK_QUEUE == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
else:
    raise ImproperlyConfigured(f"TASK_QUEUE must be 'database' or 'rq', got {TASK_QUEUE!r}")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# The SQLite file, uploads and collected static files live here; create it on first start.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders, so neither `make run` nor the tests need collectstatic.
WHITENOISE_USE_FINDERS = True

# Stimulus videos are uploaded through the admin; the limit is in megabytes.
STIMULUS_MAX_MEGABYTES = env_int("STIMULUS_MAX_MEGABYTES", 2048, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEGABYTES", 10, minimum=1) * 1024 * 1024

# Live capture limits (docs/protocol.md).
CAPTURE_MAX_FRAME_BYTES = env_int("CAPTURE_MAX_FRAME_BYTES", 1024 * 1024, minimum=1024)
CAPTURE_MAX_FRAME_SIDE = env_int("CAPTURE_MAX_FRAME_SIDE", 4096, minimum=64)
# A participant may send at most this many times the screening's sampling rate.
CAPTURE_RATE_FACTOR = env_int("CAPTURE_RATE_FACTOR", 4, minimum=1)
# The live view counts a participant as connected while their connection was seen (opened, or a
# frame arrived) within this many seconds; a paused player sends no frames.
CAPTURE_CONNECTION_TIMEOUT_SECONDS = env_int("CAPTURE_CONNECTION_TIMEOUT_SECONDS", 60, minimum=5)
# Frames one process reads and stores at once; more are answered "busy" with a time to send them
# again after (docs/protocol.md), so the wait, and the memory the frames hold, stay bounded.
CAPTURE_MAX_FRAMES_IN_FLIGHT = env_int("CAPTURE_MAX_FRAMES_IN_FLIGHT", 200, minimum=1)
CAPTURE_BUSY_RETRY_SECONDS = env_int("CAPTURE_BUSY_RETRY_SECONDS", 1, minimum=1)
# The threads that do live capture's database work in each process, each with one connection of
# its own: capture holds at most this many database connections per process, whatever the viewers.
CAPTURE_DATABASE_THREADS = env_int("CAPTURE_DATABASE_THREADS", 4, minimum=1)
# New participants one client address may start through open links in a minute (a shared lab or
# office network counts as one address); more get a "please wait a minute" page.
OPEN_LINK_JOINS_PER_MINUTE = env_int("OPEN_LINK_JOINS_PER_MINUTE", 30, minimum=1)

# Serving the emotion model (inference.config): EMOTION_MODEL_PATH, EMOTION_VIEWS, EMOTION_PRECISION,
# FRAME_WORKERS, CAPTURE_BATCH_BUDGET_MS, PRELOAD_EMOTION_MODEL. Read once, here, so that a bad value
# stops start-up naming the variable; the inference app hands it to the predictor and the batcher.
try:
    SERVING = ServingConfig.from_env()
except ConfigurationError as error:
    raise ImproperlyConfigured(str(error)) from None

# Media analysis uploads (docs/analyses.md): sizes in megabytes, checked before anything is stored.
ANALYSIS_MAX_IMAGE_MEGABYTES = env_int("ANALYSIS_MAX_IMAGE_MEGABYTES", 20, minimum=1)
ANALYSIS_MAX_IMAGES = env_int("ANALYSIS_MAX_IMAGES", 50, minimum=1)
ANALYSIS_MAX_VIDEO_MEGABYTES = env_int("ANALYSIS_MAX_VIDEO_MEGABYTES", 2048, minimum=1)
ANALYSIS_MAX_VIDEO_PIXELS = env_int("ANALYSIS_MAX_VIDEO_PIXELS", 3840 * 2160, minimum=64 * 64)
# A zip of labelled faces: the upload, and its images unpacked, in megabytes; the images it may hold.
ANALYSIS_MAX_LABELLED_MEGABYTES = env_int("ANALYSIS_MAX_LABELLED_MEGABYTES", 200, minimum=1)
ANALYSIS_MAX_LABELLED_IMAGES = env_int("ANALYSIS_MAX_LABELLED_IMAGES", 5000, minimum=1)
# A worker writes its running analyses' heartbeats four times in this many seconds; an analysis
# whose heartbeat is older lost its worker and is run again by another (docs/analyses.md, "Jobs").
ANALYSIS_STALLED_SECONDS = env_int("ANALYSIS_STALLED_SECONDS", 120, minimum=2)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"
# Attempts at the organizers' login per username and client address in a window; more are refused
# (429, with a message saying when to try again) until the window ends.
ADMIN_LOGIN_ATTEMPTS = env_int("ADMIN_LOGIN_ATTEMPTS", 10, minimum=1)
ADMIN_LOGIN_WINDOW_SECONDS = env_int("ADMIN_LOGIN_WINDOW_SECONDS", 15 * 60, minimum=1)

# Every response carries a Content-Security-Policy: the pages run only their own ES modules (their
# configuration is json_script data, not script), media may come from a stimulus URL on a CDN, and
# capture and the live view talk over websockets. The API docs relax style-src (screenings.api.docs).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:", "https:"],
        "connect-src": ["'self'", "ws:", "wss:"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["screenings.api.permissions.IsOrganizer"],
    "EXCEPTION_HANDLER": "screenings.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "screenings.api.schema.OrganizerAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # Per organizer; creating invites has a stricter rate of its own (screenings.api.throttles).
    "DEFAULT_THROTTLE_CLASSES": ["screenings.api.throttles.OrganizerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "organizer": env_rate("API_RATE", "600/minute"),
        "invites": env_rate("API_INVITE_RATE", "30/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "reactionsite API",
    "DESCRIPTION": "Organizer API for reaction-review screenings: screenings, questions, scenes, participants.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its documentation pages are for organizers only.
    "SERVE_PERMISSIONS": ["screenings.api.permissions.IsOrganizer"],
    # Requests and responses described apart: a stimulus is uploaded as a file and read back as an address,
    # and read-only fields are not offered for writing.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}
