"""Service settings, read from TRANTIB_* environment variables and an optional .env file."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Where development keeps the signing key it makes when none is set: one per checkout,
# shared by its processes (API workers, the worker, the CLI).
DEVELOPMENT_KEY_FILE = Path("var/jwt-signing-key")
DEVELOPMENT_VAPID_KEY_FILE = Path("var/vapid-private-key.pem")
DEFAULT_DEMO_PASSWORD = "trantib-demo"
# The .env file read beside the environment (the environment wins), named when the process
# starts. Set empty, no file is read: the test suite runs so, since a developer's .env (the
# compose section's, with its signing key) must not change what the tests meet.
ENV_FILE_VARIABLE = "TRANTIB_ENV_FILE"
ENV_FILE = os.environ.get(ENV_FILE_VARIABLE, ".env") or None


class Environment(StrEnum):
    development = "development"
    production = "production"


class Paper(StrEnum):
    """Paper of the printed documents: A4, or F4 (folio, 215 x 330 mm) of older local rules."""

    a4 = "a4"
    f4 = "f4"

    @property
    def size_mm(self) -> tuple[int, int]:
        return (210, 297) if self is Paper.a4 else (215, 330)


class Settings(BaseSettings):
    # An empty variable is an unset one: compose passes every setting, `${TRANTIB_X:-}`
    # where the service's own default should hold.
    model_config = SettingsConfigDict(
        env_prefix="TRANTIB_",
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    environment: Environment = Environment.development
    database_url: str = "sqlite:///./var/trantib.db"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    # A pooled connection idle longer than this is checked with a round trip before use.
    db_ping_idle_seconds: float = Field(default=10.0, ge=0, le=3600)
    # Requests inside the application at once, per process; more wait (at most
    # queue_timeout_seconds, then 503). At most the pool size plus its overflow.
    max_requests_in_progress: int = Field(default=8, ge=1, le=400)
    queue_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    # A request's whole body must arrive within this many seconds, before the request waits
    # for its turn (408 otherwise); uploads have the longer upload_read_timeout_seconds.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    upload_read_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)

    jwt_algorithm: str = "HS256"
    # Unset in development: a random key made on first start (DEVELOPMENT_KEY_FILE). A key
    # printed in the code or the README would sign tokens for anyone who read it.
    jwt_signing_key: str | None = None
    # PEM keys for RS256/ES256; when set they replace the HMAC key.
    jwt_private_key: str | None = None
    jwt_public_key: str | None = None
    # The same keys read from files (Docker secrets: /run/secrets/...); one way per key.
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_key_id: str = "trantib-1"
    jwt_issuer: str = "https://trantib.tangerangkota.go.id"
    jwt_audience: str = "trantib-api"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=7, ge=1, le=90)

    # NoDecode: a plain comma list must reach the validator below instead of the JSON decoder.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    demo_password: str = DEFAULT_DEMO_PASSWORD
    seed_demo: bool = True

    # The SOP version new incidents start under (a definition file's `version`); unset: the
    # newest. Running incidents keep theirs.
    sop_version: str | None = Field(default=None, max_length=32)
    # How far back an incident's reported_at and occurred_at may lie, in days.
    reported_at_horizon_days: int = Field(default=30, ge=1, le=366)
    # A folder of further SOP definition files, read beside the package's own (a revision
    # being tried before it ships in the package).
    sop_definitions_dir: Path | None = None

    # Whether the holder of a post (camat, sekcam, kasi_trantib) may record a Plh for their own
    # post, as many local rules let an official name their deputy for a short absence. An
    # administrator records every Plt, and every Plh when this is off.
    delegation_self_plh: bool = True

    # Surat Perintah numbering: {classification}/{sequence:04d}/{unit_code}/{year}
    order_number_format: str = "{classification}/{sequence:04d}/{unit_code}/{year}"
    order_classification: str = "300.1.2.1"

    # The issued documents. Their QR leads to {public_base_url}/v/{code}, the address the
    # public reaches the service at (production refuses to start without it; development
    # uses the local server's).
    public_base_url: str | None = Field(
        default=None, max_length=200, pattern=r"^https?://[^\s/]+[^\s]*$"
    )
    document_paper: Paper = Paper.a4
    # Requests a minute to the public verification page (/v/{code}), per client address.
    verify_rate_per_minute: int = Field(default=30, ge=1, le=100_000)

    attachments_dir: Path = Path("./var/attachments")
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    attachments_per_report: int = Field(default=20, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    page_size_max: int = Field(default=100, ge=1, le=1000)
    # Requests a minute per token subject (user or service client), in each API process;
    # 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=600, ge=0, le=1_000_000)
    # Seconds between two passes of the SLA escalation worker (`trantib worker`).
    sla_worker_interval_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Outgoing webhooks. Private and plain-http targets are for development and closed
    # networks only: a subscription URL must not reach the service's own neighbourhood.
    webhooks_allow_http: bool = False
    webhooks_allow_private: bool = False
    # Seconds between two delivery passes of `trantib worker`.
    webhooks_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhooks_max_attempts: int = Field(default=12, ge=1, le=100)
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhooks_backoff_base_seconds: float = Field(default=10.0, gt=0, le=3600)
    webhooks_backoff_cap_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    # After a secret rotation the old secret still signs (a second signature) this long.
    webhooks_rotation_grace_hours: int = Field(default=24, ge=0, le=24 * 30)
    # Delivered webhook deliveries (and their attempts) are removed after this many days.
    webhooks_retention_days: int = Field(default=30, ge=1, le=3660)
    # Seconds between two notification fan-out passes of the worker.
    notifications_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    # The live stream: at most this many missed notifications are replayed on resume (beyond
    # it a `reset` event tells the client to refetch), this many open streams per user, a
    # ping this often, and each API process reads new notifications this often (SQLite, or
    # PostgreSQL while its LISTEN connection is down); listening on PostgreSQL, a NOTIFY wakes
    # the read at once and the poll is only the safety net, this often.
    stream_backlog_limit: int = Field(default=100, ge=1, le=10_000)
    stream_per_user_cap: int = Field(default=5, ge=1, le=100)
    stream_ping_seconds: float = Field(default=15.0, gt=0, le=300)
    stream_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    stream_safety_poll_seconds: float = Field(default=5.0, gt=0, le=600)

    # Web Push to phones (RFC 8030/8291/8292). The VAPID key is an EC P-256 private key (PEM,
    # or the raw 32 bytes in base64url as web-push tools print it); unset in development, a
    # key of the checkout's own is made (DEVELOPMENT_VAPID_KEY_FILE). Production refuses to
    # start with push enabled and no key.
    push_enabled: bool = False
    push_vapid_private_key: str | None = None
    push_vapid_private_key_file: Path | None = None
    # Who the push services may contact about our messages: a mailto: or https: URL.
    push_vapid_subject: str = Field(
        default="mailto:trantib@tangerangkota.go.id", pattern=r"^(mailto:\S+@\S+|https://\S+)$"
    )
    # Plain-http and private push endpoints: the tests' local push service only.
    push_allow_http: bool = False
    push_allow_private: bool = False
    push_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    push_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # A message's TTL is the time until the step is due, within these bounds (seconds).
    push_ttl_min_seconds: int = Field(default=3600, ge=60, le=28 * 24 * 3600)
    push_ttl_max_seconds: int = Field(default=3 * 24 * 3600, ge=60, le=28 * 24 * 3600)

    @model_validator(mode="after")
    def _requests_fit_the_pool(self) -> Settings:
        connections = self.db_pool_size + self.db_max_overflow
        if self.max_requests_in_progress > connections:
            raise ValueError(
                f"TRANTIB_MAX_REQUESTS_IN_PROGRESS ({self.max_requests_in_progress}) must not "
                f"exceed TRANTIB_DB_POOL_SIZE + TRANTIB_DB_MAX_OVERFLOW ({connections})"
            )
        return self

    @model_validator(mode="after")
    def _keys_from_files(self) -> Settings:
        for name in ("jwt_private_key", "jwt_public_key", "push_vapid_private_key"):
            path: Path | None = getattr(self, f"{name}_file")
            if path is None:
                continue
            setting = f"TRANTIB_{name.upper()}"
            if getattr(self, name):
                raise ValueError(f"set {setting} or {setting}_FILE, not both")
            try:
                setattr(self, name, path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or "not UTF-8 text"
                raise ValueError(f"{setting}_FILE: cannot read {path}: {reason}") from None
        return self

    @model_validator(mode="after")
    def _development_signing_key(self) -> Settings:
        # Production must be given its key (startup refuses to serve without one).
        uses_hmac = self.jwt_algorithm.startswith("HS")
        if self.jwt_signing_key is None and uses_hmac and not self.is_production:
            self.jwt_signing_key = development_signing_key(DEVELOPMENT_KEY_FILE)
        if self.push_enabled and not self.push_vapid_private_key and not self.is_production:
            self.push_vapid_private_key = development_signing_key(
                DEVELOPMENT_VAPID_KEY_FILE, make=_new_vapid_key
            )
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def verification_base(self) -> str:
        """Where the public verification pages are: the public base URL, in development the
        local server's address when it is unset."""
        return (self.public_base_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    def production_problems(self) -> list[str]:
        """Reasons the settings are unfit for production, each one line."""
        # The signing key is checked in every environment (app.core.security).
        problems: list[str] = []
        if self.seed_demo:
            problems.append("TRANTIB_SEED_DEMO must be false in production")
        if not self.public_base_url:
            problems.append(
                "TRANTIB_PUBLIC_BASE_URL is not set; the QR of every issued document leads there"
            )
        for name in ("push_allow_http", "push_allow_private"):
            if getattr(self, name):
                problems.append(f"TRANTIB_{name.upper()} must be false in production")
        if self.push_enabled and not self.push_vapid_private_key:
            problems.append(
                "TRANTIB_PUSH_ENABLED is true but TRANTIB_PUSH_VAPID_PRIVATE_KEY (or its _FILE) "
                "is not set"
            )
        return problems


def _new_vapid_key() -> str:
    from app.push.vapid import new_private_key_pem

    return new_private_key_pem()


def development_signing_key(path: Path, make: Callable[[], str] | None = None) -> str:
    """The checkout's development key, made (random, or by `make`; mode 0600) by the first
    process to ask.

    The key is written to a private temporary file and linked into place: the link is
    atomic and fails when another process got there first, whose key is then read.
    """
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = make() if make is not None else secrets.token_urlsafe(48)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(key + "\n")
        os.link(partial, path)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
    finally:
        partial.unlink()
    return key


class SettingsInvalid(ValueError):
    """The settings break a rule. The message is one line naming each setting and its rule,
    and never a value: pydantic's own message shows the inputs, a signing key among them."""


def _one_line(exc: ValidationError) -> str:
    reasons = []
    for error in exc.errors(include_url=False, include_input=False):
        rule = error["msg"].removeprefix("Value error, ")
        # A rule across settings (no location) names them itself.
        where = error["loc"]
        reasons.append(f"TRANTIB_{str(where[0]).upper()}: {rule}" if where else rule)
    return "invalid settings: " + "; ".join(reasons)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # `from None`: a traceback of the cause would print the inputs after all.
        raise SettingsInvalid(_one_line(exc)) from None
