"""Settings with defaults; ``BALAI_*`` environment variables override them.

Precedence, lowest first: :data:`DEFAULTS`, the instance file ``balai.cfg``,
``BALAI_*`` environment variables, the mapping given to ``create_app``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

from flask import Config, Flask

DEFAULTS: dict[str, Any] = {
    # Database: an SQLite file in the instance folder unless a URL is given.
    "DATABASE_URL": None,
    "DATABASE_ECHO": False,
    # Tenancy: "single" serves its one tenant on any host; "multi" resolves by Host.
    "TENANCY": "single",
    # How long a worker trusts its copy of tenants and enabled plugins (seconds).
    "STATE_TTL": 1.0,
    # Plugins the operator lets regions use; None means every installed plugin.
    "ALLOWED_PLUGINS": None,
    # Deployment-wide plugin settings: {"plugin": {"key": value}}.
    "PLUGIN_SETTINGS": {},
    "DEFAULT_THEME": "default",
    # Language: Bahasa Indonesia first, English second.
    "BABEL_DEFAULT_LOCALE": "id",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Jakarta",
    "LANGUAGES": ["id", "en"],
    # Sessions and cookies.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "balai_session",
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PREFERRED_URL_SCHEME": "http",
    # Port of links in messages and pages when not the scheme's default (None).
    "PREFERRED_URL_PORT": None,
    # Password hashing: "strong" for deployments, "fast" only for test suites.
    "PASSWORD_HASHING": "strong",
    # Login throttling: failures allowed per window before a wait is imposed.
    "LOGIN_MAX_FAILURES_ACCOUNT": 5,
    "LOGIN_MAX_FAILURES_ADDRESS": 20,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    # Device cookies: a browser that logged in to an account before is counted on its
    # own (this many failures per window), not in the account's shared counter.
    "LOGIN_MAX_FAILURES_DEVICE": 5,
    "LOGIN_DEVICE_DAYS": 365,
    # One-time codes (registration, password reset): lifetime, wrong tries per code,
    # and how many may be sent per recipient and per client address.
    "ACCOUNT_CODE_MINUTES": 15,
    "ACCOUNT_CODE_ATTEMPTS": 5,
    "ACCOUNT_CODE_LIMIT_RECIPIENT": "3 per hour; 10 per day",
    "ACCOUNT_CODE_LIMIT_ADDRESS": "10 per hour",
    # Invitations to join a region: days the link stays valid.
    "INVITATION_DAYS": 7,
    # Redis shared by every worker and host ("redis://127.0.0.1:6379/0"): rate-limit
    # counters, and the RQ queues of background jobs served by 'balai worker' and
    # 'balai scheduler'. None: the deployment has no Redis; counters stay in the
    # database and 'balai jobs run-due' from cron runs the jobs.
    "REDIS_URL": None,
    # Rate-limit counters: None keeps them in REDIS_URL's Redis when one is set, else
    # in the database; a Redis URL keeps them in that Redis.
    "RATELIMIT_STORAGE_URL": None,
    "RATELIMIT_KEY_PREFIX": "balai",
    # Background jobs: the queue's name, and seconds between scheduler checks.
    "JOBS_QUEUE": "balai",
    "JOBS_SCHEDULER_INTERVAL": 10,
    # Uploads.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "LOGO_MAX_BYTES": 512 * 1024,
    # Where uploads are kept (balai.storage): None is the instance folder,
    # "file:///folder" another folder, "s3://bucket/prefix" an S3-compatible store
    # (needs the balai[s3] extra) at S3_ENDPOINT_URL (None: AWS, or boto3's own
    # AWS_ENDPOINT_URL_S3); credentials from the usual AWS_* environment variables.
    "STORAGE_URL": None,
    "S3_ENDPOINT_URL": None,
    # Images (photos, logos): pixels one image may declare, and pixels one request may
    # decode over all its images; checked from the headers before anything is decoded.
    "IMAGE_MAX_PIXELS": 40_000_000,
    "IMAGE_REQUEST_PIXELS": 24_000_000,
    # API.
    "API_TITLE": "Balai API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "API_PAGE_SIZE": 20,
    "API_MAX_PAGE_SIZE": 100,
    # Answers are dumped by functions compiled from their schemas; False dumps with
    # marshmallow. API_CHECK_DUMPS (the test suite's) dumps both and compares the bytes.
    "API_COMPILED_DUMPS": True,
    "API_CHECK_DUMPS": False,
    # Outgoing e-mail (SMTP); without MAIL_SERVER e-mails are kept in the outbox.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,
    "MAIL_SENDER": None,
    # Outbox: delivery attempts before a message stays failed; deliver right
    # after the request that queued messages (demo) instead of only by command.
    "OUTBOX_MAX_ATTEMPTS": 5,
    "OUTBOX_DELIVER_INLINE": False,
    # SMS webhook replies travel in the HTTP response (True), or wait in the outbox
    # for a gateway plugin to send them (False).
    "SMS_REPLY_IN_RESPONSE": True,
    # The demo's mailbox page /-/kotak-surat (balai.devmail): set by 'balai demo' for
    # the app it serves; refused in an instance folder that is not a demo.
    "DEMO_MAILBOX": False,
    # Where the demo's sample data keeps results slow to make (the registry's plugin
    # checks); unset: the folder "cache" of the instance folder, which --reset keeps.
    "DEMO_CACHE": None,
    # Metrics at /-/metrics: a scraper sends "Authorization: Bearer <METRICS_TOKEN>";
    # without a token only a logged-in platform operator reads them.
    "METRICS_TOKEN": None,
    # Log lines of the handler Balai installs when logging is not configured: "text"
    # for people, "json" (one object a line) for log collectors.
    "LOG_FORMAT": "text",
    # The upstream registry regions send evaluations and usage reports to, and the
    # 'balai plugins' commands search and install from, unless told otherwise
    # ("https://balai.example.go.id"); each region may set its own. None: no default.
    "REGISTRY_URL": None,
    # Whether region admins may point their region at another upstream address (the
    # server then fetches addresses they choose); False: always REGISTRY_URL.
    "REGISTRY_URL_PER_REGION": True,
    # Whether the server may contact an upstream registry at a private, loopback,
    # link-local, multicast or reserved address (a development or test setup on
    # localhost); False: such addresses are refused when saved and on every request.
    "REGISTRY_ALLOW_PRIVATE_ADDRESSES": False,
    # CSRF tokens live as long as the session.
    "WTF_CSRF_TIME_LIMIT": None,
}


#: The shortest ``METRICS_TOKEN`` accepted: a scraper's secret, not a password to type.
METRICS_TOKEN_MIN = 16


def read_settings(instance_path: str) -> Config:
    """The settings of the instance folder ``instance_path`` as :func:`load` reads them
    (defaults, ``balai.cfg``, ``BALAI_*`` environment variables), without an app and
    without checking them: for commands that need no instance (``balai plugins search``
    reads only ``REGISTRY_URL``). A folder without ``balai.cfg`` gives the defaults."""
    settings = Config(instance_path, copy.deepcopy(DEFAULTS))
    settings.from_pyfile("balai.cfg", silent=True)
    settings.from_prefixed_env("BALAI")
    return settings


def load(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and overrides."""
    app.config.from_mapping(copy.deepcopy(DEFAULTS))
    app.config.from_pyfile("balai.cfg", silent=True)
    app.config.from_prefixed_env("BALAI")
    if overrides:
        app.config.from_mapping(overrides)
    if not app.config.get("DATABASE_URL"):
        path = os.path.join(app.instance_path, "balai.sqlite")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    if app.config["TENANCY"] not in {"single", "multi"}:
        raise ValueError(f"TENANCY must be 'single' or 'multi', not {app.config['TENANCY']!r}")
    if app.config["LOG_FORMAT"] not in {"text", "json"}:
        raise ValueError(f"LOG_FORMAT must be 'text' or 'json', not {app.config['LOG_FORMAT']!r}")
    token = app.config.get("METRICS_TOKEN")
    if token is not None and len(str(token)) < METRICS_TOKEN_MIN:
        raise ValueError(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters long "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY is not set: run 'balai init' to write the instance config, "
            "or set BALAI_SECRET_KEY."
        )
