"""Platform settings: environment variables over embedded defaults.

No environment at all gives the local platform: SQLite, DuckDB, local secrets, local scheduler and the
subprocess runner, everything under PLATFORM_DATA_DIR (default `var/`). `PLATFORM_ENV=production` switches
on the production posture and refuses to start with unsafe values.
"""
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.local_state import data_dir, local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
PLATFORM_ENV = env_str("PLATFORM_ENV", "local")
if PLATFORM_ENV not in ("local", "production"):
    raise ImproperlyConfigured("PLATFORM_ENV must be 'local' or 'production'")
PRODUCTION = PLATFORM_ENV == "production"

PLATFORM_DATA_DIR = data_dir(env_str("PLATFORM_DATA_DIR", str(BASE_DIR / "var")))
PLATFORM_BASE_URL = env_str("PLATFORM_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "") or ("" if PRODUCTION else local_secret_key(PLATFORM_DATA_DIR))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ml_platform",
]

MIDDLEWARE = [
    "ml_platform.middleware.RequestIdMiddleware",
    "ml_platform.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{PLATFORM_DATA_DIR / 'platform.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout: the web app, the scheduler and the runner API share one file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests use a file too: live-server tests write from several threads (and runner callbacks), which an
    # in-memory shared-cache database answers with "table is locked" instead of waiting.
    DATABASES["default"]["TEST"] = {"NAME": str(PLATFORM_DATA_DIR / "test-platform.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "ml_platform.auth_backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "system_dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Content-Security-Policy: scripts only from our own static files, never inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    # WhiteNoise serves the collected static files in production; locally runserver / live_server do.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Backends (see docs/architecture.md): local defaults, GCP in production.
WAREHOUSE_BACKEND = env_str("WAREHOUSE_BACKEND", "duckdb")
WAREHOUSE_DUCKDB_PATH = env_str("WAREHOUSE_DUCKDB_PATH", str(PLATFORM_DATA_DIR / "warehouse.duckdb"))
STAGING_URL = env_str("STAGING_URL", (PLATFORM_DATA_DIR / "staging").as_uri())
SECRETS_BACKEND = env_str("SECRETS_BACKEND", "local")
SECRETS_KEY = env_str("SECRETS_KEY", "")
LAUNCHER_BACKEND = env_str("LAUNCHER_BACKEND", "local")
SCHEDULER_BACKEND = env_str("SCHEDULER_BACKEND", "local")
GCP_PROJECT_ID = env_str("GCP_PROJECT_ID", "")
GCP_REGION = env_str("GCP_REGION", "us-central1")
BIGQUERY_LOCATION = env_str("BIGQUERY_LOCATION", "US")
CLOUD_RUN_JOB_NAME = env_str("CLOUD_RUN_JOB_NAME", "etl-runner")
SCHEDULER_SERVICE_ACCOUNT = env_str("SCHEDULER_SERVICE_ACCOUNT", "")
SCHEDULER_OIDC_AUDIENCE = env_str("SCHEDULER_OIDC_AUDIENCE", PLATFORM_BASE_URL)
# Where Google's OIDC signing certificates are fetched (tests serve their own); empty = Google's.
SCHEDULER_OIDC_CERTS_URL = env_str("SCHEDULER_OIDC_CERTS_URL", "")
SCHEDULER_WEBHOOK_RATE_LIMIT = env_int("SCHEDULER_WEBHOOK_RATE_LIMIT", 60)  # deliveries per job per minute
SCHEDULER_LOCAL_TOKEN_MAX_AGE = env_int("SCHEDULER_LOCAL_TOKEN_MAX_AGE", 300)  # seconds
# Test/emulator hooks: empty in production, so the official clients use Google's endpoints.
GCP_API_ENDPOINTS = {
    "secretmanager": env_str("SECRET_MANAGER_ENDPOINT", ""),
    "cloudscheduler": env_str("CLOUD_SCHEDULER_ENDPOINT", ""),
    "run": env_str("CLOUD_RUN_ENDPOINT", ""),
    "bigquery": env_str("BIGQUERY_ENDPOINT", ""),
}
RUN_TOKEN_MAX_AGE_SECONDS = env_int("RUN_TOKEN_MAX_AGE_SECONDS", 24 * 3600)
RUN_HEARTBEAT_TIMEOUT_SECONDS = env_int("RUN_HEARTBEAT_TIMEOUT_SECONDS", 180)
RUN_LOG_DIR = PLATFORM_DATA_DIR / "logs" / "runs"
# Local launcher: hand runs to the warm runner server (`python -m etl_runner serve`, started by `make run`)
# listening here; runs fall back to a cold start when nothing listens. Empty: always cold.
RUNNER_WARM_SOCKET = env_str("RUNNER_WARM_SOCKET", "")
# Folders that SQLite and local-folder connections may read (empty: any folder except the platform's own
# state in PLATFORM_DATA_DIR, which is always refused but for its demo/ folder).
LOCAL_SOURCE_ROOTS = env_list("LOCAL_SOURCE_ROOTS", [])

from config.logging_config import build_logging  # noqa: E402

LOGGING = build_logging(json_lines=env_bool("LOG_JSON", PRODUCTION), level=env_str("LOG_LEVEL", "INFO"))

if PRODUCTION:
    from config.production_checks import assert_safe_production_settings  # noqa: E402

    assert_safe_production_settings(globals())
