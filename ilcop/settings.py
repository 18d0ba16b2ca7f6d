"""Settings for the peer review programme service.

Everything comes from the environment. With nothing set, the embedded defaults run the whole
product on one machine: SQLite, Celery tasks executed eagerly in the web process, and email
written to the console and to files under var/mail/. See README.md for every variable.

ILCOP_ENVIRONMENT=production switches on the production posture: it refuses to start without a
secret key and allowed hosts, and turns on the HTTPS-only cookie and header settings.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


ENVIRONMENT = env("ILCOP_ENVIRONMENT", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("ILCOP_ENVIRONMENT must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        # Fail fast: a guessable key would let anyone forge sessions and invitation links.
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
    SECRET_KEY = "development-only-key-never-used-in-production-0123456789abcdef"

# Never in production: debug pages show settings and the data on the page to anyone.
DEBUG = env_bool("DJANGO_DEBUG", default=True) and not PRODUCTION

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Absolute base URL for links in emails, which are built outside any request (in Celery tasks).
SITE_URL = env("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "ilcop",
    "programmes",
    "visits",
    "qips",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After sessions, auth and messages: they read the session and add a message.
    "ilcop.security.SessionTimeoutMiddleware",
    "ilcop.mfa.MfaSetupRequiredMiddleware",
    "ilcop.security.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "ilcop.urls"
WSGI_APPLICATION = "ilcop.wsgi.application"

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
                "programmes.context_processors.current_programme",
            ],
        },
    },
]

# Every form renders with NHS.UK frontend markup (label, hint, error message, input classes).
FORM_RENDERER = "ilcop.forms.NhsukFormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "ilcop.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "programmes:home"

# allauth: email is the login, nobody signs up on their own (people join by invitation; see
# ilcop.adapters), and an address must be verified before it can be used to sign in. Accepting
# an invitation verifies the address, because the invitee followed a link sent to it.
ACCOUNT_ADAPTER = "ilcop.adapters.InvitationOnlyAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_SESSION_REMEMBER = False
# Failed sign-ins: 5 per account in 5 minutes (then even the right password is refused until
# the window passes) and 10 a minute from one address. allauth applies the same
# "login_failed" limit to two-step codes, keyed on the account (allauth.mfa.base.internal.
# flows.check_rate_limit), so a six-digit code cannot be guessed either. Counts live in the
# cache: Redis in production, so every web process shares them.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# One address per person: the one they were invited at. Nobody adds others to their account.
ACCOUNT_MAX_EMAIL_ADDRESSES = 1

# Two-step sign-in (allauth.mfa): an authenticator app's six-digit code (TOTP, RFC 6238) with
# one-time recovery codes for a lost phone. No passkeys or security keys (allauth imports the
# fido2 package whatever is on, so it is installed: see pyproject.toml).
# The core team and staff see every site's data, so they must set it up (ilcop.mfa); everyone
# else may. Our adapter draws the QR code with segno rather than allauth's optional qrcode.
MFA_ADAPTER = "ilcop.mfa.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Accept the codes of the 30-second steps either side too, as RFC 6238 section 5.2 allows for
# the delay between reading the phone and the form arriving (allauth's default is 0, which
# refuses a code typed in the last second or two of its step). A used code is still refused.
MFA_TOTP_TOLERANCE = 1
MFA_TOTP_ISSUER = "NHS Peer Review Programmes"
MFA_FORMS = {"activate_totp": "ilcop.mfa.ActivateTotpForm",
             "authenticate": "ilcop.mfa.SignInCodeForm",
             "reauthenticate": "ilcop.mfa.ConfirmCodeForm"}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # The NHS.UK frontend build, installed from the npm registry by `npm ci` (see package.json).
    ("nhsuk", BASE_DIR / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    # NHS.UK frontend's stylesheet without its remote @font-face rules (static-build.js).
    ("nhsuk-local", BASE_DIR / "node_modules" / ".ilcop-static"),
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
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
# Uploaded CSVs are read in memory; anything bigger than this is not a site list.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Redis, when configured, is the Celery broker and the cache. Without it, tasks run eagerly in
# the web process, which is what `make run` and the test suite use.
REDIS_URL = env("REDIS_URL")
if PRODUCTION and not REDIS_URL:
    # Without a broker every email would be sent inside a web request, and lost if it failed.
    raise ImproperlyConfigured("REDIS_URL must be set in production.")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
# In-process tasks (no Redis) must not turn a mail server hiccup into an error page after the
# change they follow was saved; Celery logs the failure instead. The tests propagate.
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_TASK_ACKS_LATE = True
# A pool process that dies mid-task (killed for memory, say) gives its message back rather than
# acknowledging it: every task is idempotent, so running it again is safe.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker killed mid-task (out of memory, a redeploy) never acknowledges its message; Redis
# hands it to another worker once this many seconds have passed since it was taken. It must
# be longer than the longest task's time limit and the longest retry countdown, or a task
# still running, or waiting for its retry, would be handed out a second time (Celery's Redis
# caveats). Tasks are idempotent, so even that would not send an email twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(env("CELERY_VISIBILITY_TIMEOUT", str(2 * 60 * 60))),
    # How often a worker sweeps for such messages: every interval × throttle seconds (kombu's
    # Redis transport; its defaults make that 100 s).
    "unacked_restore_interval": int(env("CELERY_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": int(env("CELERY_RESTORE_THROTTLE", "10")),
    # A Redis host that stops answering (rather than refusing) must not hold a web request
    # while it publishes: the task then goes to the outbox (ilcop.outbox).
    "socket_connect_timeout": 5,
}
# Publishing gives up after about a second (3 tries), and the task waits in the outbox.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0,
                                    "interval_step": 0.2, "interval_max": 0.5}
# A worker that loses Redis keeps trying to reconnect rather than exiting after 100 tries.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Separate queues let several installations (or a test run) share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "ilcop")
# Each run only does what is due and records it (the reminder ledger, ilcop.notifications), so
# a repeated run, or a second beat started by mistake, sends nothing twice. Times are London
# times (CELERY_TIMEZONE), in the working day; README.md lists when each reminder fires.
CELERY_BEAT_SCHEDULE = {
    "remind-poll-non-responders": {"task": "visits.tasks.remind_polls",
                                   "schedule": crontab(minute=0, hour="7-19")},
    "close-polls-at-deadline": {"task": "visits.tasks.lock_polls", "schedule": 5 * 60},
    # Monday: the core team's digest first, reminders at 8, people's own digests at 9 so
    # that they gather whatever the 8 o'clock jobs held for them.
    "core-team-digests": {"task": "qips.tasks.send_core_team_digests",
                          "schedule": crontab(minute=30, hour=7, day_of_week="mon")},
    "visit-reminders": {"task": "visits.tasks.send_visit_reminders",
                        "schedule": crontab(minute=0, hour=8)},
    "observation-reminders": {"task": "visits.tasks.send_observation_reminders",
                              "schedule": crontab(minute=5, hour=8)},
    "report-reminders": {"task": "visits.tasks.send_report_reminders",
                         "schedule": crontab(minute=10, hour=8)},
    "event-reminders": {"task": "visits.tasks.send_event_reminders",
                        "schedule": crontab(minute=25, hour=8)},
    "qip-reminders": {"task": "qips.tasks.send_qip_reminders",
                      "schedule": crontab(minute=15, hour=8)},
    "progress-update-reminders": {"task": "qips.tasks.send_progress_reminders",
                                  "schedule": crontab(minute=20, hour=8)},
    "action-plan-reminders": {"task": "qips.tasks.send_action_plan_reminders",
                              "schedule": crontab(minute=35, hour=8)},
    "personal-digests": {"task": "ilcop.tasks.send_digests",
                         "schedule": crontab(minute=0, hour=9, day_of_week="mon")},
    # Tasks the broker refused while Redis was down (ilcop.outbox), queued once it is back.
    "flush-outbox": {"task": "ilcop.tasks.flush_outbox",
                     "schedule": float(env("OUTBOX_FLUSH_SECONDS", "60"))},
}

if REDIS_URL:
    # Redis down must not break pages: the cache answers as empty (ilcop.cache), and the
    # short timeouts keep a request from waiting on a Redis that does not answer.
    CACHES = {"default": {"BACKEND": "ilcop.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Email: SMTP when EMAIL_HOST is set, otherwise to the console and to files in EMAIL_FILE_PATH.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Peer Review Programme <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_FILE_PATH = Path(env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail")))
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(env("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = env("EMAIL_BACKEND", "ilcop.mail.ConsoleAndFileBackend")

INVITATION_VALID_DAYS = int(env("INVITATION_VALID_DAYS", "14"))
# Who patients can contact about the survey's use of their answers: shown on its privacy
# notice. Set it to the programme's data protection contact.
SURVEY_PRIVACY_CONTACT = env(
    "SURVEY_PRIVACY_CONTACT",
    "the Patient Advice and Liaison Service (PALS) at the hospital where you are treated")

SESSION_COOKIE_HTTPONLY = True
# A session ends 8 hours after signing in (a working day), or after an hour without a request
# (ilcop.security.SessionTimeoutMiddleware): long enough for a visit day's session or a
# meeting, short enough that a shared NHS computer left signed in is not open for the rest of
# the day. The visit day's live page keeps unsent notes in the browser, so signing in again
# loses nothing.
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_IDLE_TIMEOUT = int(env("SESSION_IDLE_MINUTES", "60")) * 60
# How stale the session's "last seen" time may get before a request writes it back: one write
# every few minutes rather than one per page.
SESSION_ACTIVITY_RESOLUTION = 5 * 60
CSRF_COOKIE_HTTPONLY = True
# A browser-session cookie, not a year-long one: patients answer the survey on their own
# phones, and the form's CSRF token is the only thing it leaves there.
CSRF_COOKIE_AGE = None
# Behind the TLS proxy every request comes from the proxy's address. Set this when a proxy
# you control appends the client's address to X-Forwarded-For (it is then the last entry);
# the public survey's rate limit counts by client.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", default=False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The Content Security Policy and Permissions-Policy are set by ilcop.security.
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # The TLS-terminating proxy in front of gunicorn sets this header (see docker-compose.yml).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env("DJANGO_SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# Logs carry no personal details: no emails, names or free text. Records name objects by id.
# ilcop.logging.configure also redacts email addresses and invitation links from every record
# as it is made, tracebacks included; error reports hide every POST value (docs/privacy.md).
LOGGING_CONFIG = "ilcop.logging.configure"
DEFAULT_EXCEPTION_REPORTER_FILTER = "ilcop.logging.PrivateExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "ilcop.logging.PrivateExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "ilcop.logging.RedactSecretsFilter"},
                "svg_styles": {"()": "ilcop.logging.QuietSvgStylesFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact"]},
                 "weasyprint": {"class": "logging.StreamHandler", "formatter": "plain",
                                "filters": ["svg_styles"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Request paths are logged here; route them through the redacting handler.
        # propagate=False also keeps Django's AdminEmailHandler (mail_admins) out of it; no
        # ADMINS are set, so no error report is emailed either.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # WeasyPrint narrates every step of every PDF at INFO.
        "weasyprint": {"level": "WARNING", "handlers": ["weasyprint"], "propagate": False},
        "fontTools": {"level": "WARNING"},
    },
}
