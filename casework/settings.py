"""Casework settings, read from environment variables (healthchecks' style).

Local use needs nothing set: DEBUG stays off unless asked for, a SQLite file under
var/ is the database. Production sets DATABASE_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).lower() in ("1", "yes", "true", "on")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "False")
# Production is anything that is not explicitly local development or a test run.
DEVELOPMENT = envbool("CASEWORK_DEVELOPMENT", "False")

_INSECURE_KEY = "local-development-only-not-a-secret"
SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY == _INSECURE_KEY:
    if not (DEBUG or DEVELOPMENT):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a long random value in production "
            "(set CASEWORK_DEVELOPMENT=1 for local use)."
        )
    SECRET_KEY = _INSECURE_KEY

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if (DEBUG or DEVELOPMENT) else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_NAME = os.getenv("SITE_NAME", "Casework")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_filters",
    "django_countries",
    "import_export",
    "simple_history",
    "accounts",
    "casework",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Absolute session lifetime, sign-out everywhere, and 2FA before any admin page.
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the signed-in user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns lockouts into the locked-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "casework.urls"
WSGI_APPLICATION = "casework.wsgi.application"
ASGI_APPLICATION = "casework.asgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# SQLite under var/ when no DATABASE_URL is given; PostgreSQL in production and tests.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'casework.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", "0"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs 30–130 ms on each large search query and gains nothing at
    # these query sizes (docs/benchmarks.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date formats per language (casework/formats/en: "25 October 2016", "May 2016").
FORMAT_MODULE_PATH = ["casework.formats"]

# ISO 3166-1 has no code for Kosovo; XK is the user-assigned code the European Commission,
# the OSCE, the Council of Europe and most data sets use for it.
# django-countries 9 names NR "Naoero" (its endonym); reports and pages in English say Nauru.
COUNTRIES_OVERRIDE = {"XK": "Kosovo", "NR": "Nauru"}

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or DEVELOPMENT)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Change history: the user comes from HistoryRequestMiddleware.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# Restoring goes through Case.restore() so that status and the re-vetting rule hold.
SIMPLE_HISTORY_REVERT_DISABLED = True

# django-import-export: only roles holding the permission may import or export.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_USE_TRANSACTIONS = True
# Uploads waiting for their preview to be confirmed: a private directory that
# `clear_import_uploads` empties of the ones never confirmed (casework/uploads.py).
IMPORT_EXPORT_TMP_STORAGE_CLASS = "casework.uploads.ImportUploadStorage"
CASEWORK_IMPORT_UPLOAD_DIR = Path(os.getenv("CASEWORK_IMPORT_UPLOAD_DIR",
                                            BASE_DIR / "var" / "import-uploads"))
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Largest CSV file an import accepts (bytes); docs/csv-format.md.
CASEWORK_IMPORT_MAX_BYTES = envint("CASEWORK_IMPORT_MAX_BYTES", str(20 * 1024 * 1024))
# The home page's figures and each search's facet counts, kept exactly
# (casework/public_cache.py; PostgreSQL only).
CASEWORK_PUBLIC_CACHE = envbool("CASEWORK_PUBLIC_CACHE", "1")
# The search index of the published cases (a directory; casework/search_index.py,
# PostgreSQL only): unset, PostgreSQL answers every search.
CASEWORK_SEARCH_INDEX = os.getenv("CASEWORK_SEARCH_INDEX") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Local use serves static files straight from the app folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG or DEVELOPMENT
WHITENOISE_AUTOREFRESH = DEBUG or DEVELOPMENT
if DEBUG or DEVELOPMENT:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------------------
# Sign-in security, sessions, headers and cookies (docs/security.md)
# ---------------------------------------------------------------------------
from datetime import timedelta  # noqa: E402

from django.utils.csp import CSP  # noqa: E402

PRODUCTION = not (DEBUG or DEVELOPMENT)

# Old keys stay valid for existing sessions and signed links while a new key rolls out.
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS", "")

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out sign-ins before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", "30"))
# Each parameter locks on its own: 5 failures for one username, or from one address.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Two-factor authentication for every staff account (accounts.middleware).
TWO_FACTOR_REQUIRED = envbool("CASEWORK_2FA_REQUIRED", "True")
if PRODUCTION and not TWO_FACTOR_REQUIRED:
    raise ImproperlyConfigured("CASEWORK_2FA_REQUIRED may be turned off only for local use.")
OTP_TOTP_ISSUER = SITE_NAME
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# Sessions: idle expiry (renewed on every request) and an absolute lifetime.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_MINUTES", "30") * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_LIFETIME = envint("SESSION_ABSOLUTE_HOURS", "12") * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", str(365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "True")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies: only over HTTPS, for this exact host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    if envbool("BEHIND_TLS_PROXY", "True"):
        # The reverse proxy terminates TLS and must set (not pass on) this header.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
