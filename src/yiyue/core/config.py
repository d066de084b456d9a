"""Settings from the environment (prefix ``YIYUE_``).

Every default is the embedded one, so a bare ``yiyue demo`` runs with nothing else installed. Secrets
that are not given are generated once into ``./var/dev-secrets.json`` and announced loudly: they are
for development only and must be set explicitly in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("yiyue.config")

FAKE_WECHAT_IN_PROCESS = "inprocess"
_SECRETS = ("secret_key", "data_key", "blind_index_key", "wechat_secret")

DEV_WECHAT_PAY_MCHID = "1900000109"
DEV_WECHAT_PAY_NOTIFY_URL = "http://127.0.0.1:8000/api/v1/payments/wechat/notify"
_PAY_SECRETS = (
    "wechat_pay_merchant_private_key",
    "wechat_pay_merchant_serial_no",
    "wechat_pay_apiv3_key",
    "wechat_pay_public_key",
    "wechat_pay_public_key_id",
    "wechat_pay_fake_platform_private_key",
)
_PAY_REQUIRED_IN_PRODUCTION = (
    "wechat_pay_mchid",
    "wechat_pay_merchant_private_key",
    "wechat_pay_merchant_serial_no",
    "wechat_pay_apiv3_key",
    "wechat_pay_public_key",
    "wechat_pay_public_key_id",
    "wechat_pay_notify_url",
)
_PEM_SETTINGS = ("wechat_pay_merchant_private_key", "wechat_pay_public_key", "wechat_pay_fake_platform_private_key")


def var_dir() -> Path:
    """Where the embedded database and the generated development secrets live."""
    path = Path(os.environ.get("YIYUE_VAR_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIYUE_", extra="ignore")

    environment: str = "development"
    database_url: str = ""
    secret_key: str = ""
    data_key: str = ""
    """Base64 of 32 bytes: AES-256-GCM key for personal data at rest (ID numbers, phones)."""
    data_key_id: str = "k1"
    old_data_keys: dict[str, str] = Field(default_factory=dict)
    """Retired keys by id, still able to decrypt values written under them (key rotation)."""
    blind_index_key: str = ""
    """Base64 of 32+ bytes keying the look-up hashes of ID numbers; unlike data keys it is never rotated."""

    wechat_api_base: str = FAKE_WECHAT_IN_PROCESS
    """``https://api.weixin.qq.com`` in production; by default the fake WeChat served in-process."""
    wechat_appid: str = "wx0000000000000000"
    wechat_secret: str = ""

    wechat_pay_api_base: str = FAKE_WECHAT_IN_PROCESS
    """``https://api.mch.weixin.qq.com`` in production; by default the fake WeChat Pay served in-process."""
    wechat_pay_mchid: str = ""
    """The merchant number (商户号); a fixed sample number in development."""
    wechat_pay_merchant_private_key: str = Field(default="", repr=False)
    """The merchant API private key (``apiclient_key.pem``): the PEM text or the path of a file holding it."""
    wechat_pay_merchant_serial_no: str = ""
    """Serial number of the merchant API certificate, sent with every signed request."""
    wechat_pay_apiv3_key: str = Field(default="", repr=False)
    """The 32-character APIv3 key that decrypts notification resources."""
    wechat_pay_public_key: str = ""
    """The WeChat Pay public key (微信支付公钥) that verifies responses and notifications: PEM or a path."""
    wechat_pay_public_key_id: str = ""
    """Its id, ``PUB_KEY_ID_...``, which WeChat Pay echoes in ``Wechatpay-Serial``."""
    wechat_pay_notify_url: str = ""
    """Where WeChat Pay posts payment notifications (HTTPS in production)."""
    wechat_pay_refund_notify_url: str = ""
    """Where it posts refund notifications; empty means the payment notify URL."""
    wechat_pay_fake_platform_private_key: str = Field(default="", repr=False)
    """Development only: the private half of ``wechat_pay_public_key``, which the fake WeChat Pay signs with."""

    subscribe_templates: dict[str, str] = Field(
        default_factory=lambda: {
            "booking_confirmed": "yiyue-booking-confirmed",
            "visit_reminder": "yiyue-visit-reminder",
            "cancelled": "yiyue-booking-cancelled",
            "waitlist_offered": "yiyue-waitlist-offered",
            "release_result": "yiyue-release-result",  # issue 9 (A): 抽签放号结果
        }
    )
    """Subscribe-message template ids by purpose; the defaults are the ones the fake WeChat knows."""

    access_token_minutes: int = 120
    staff_session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """A console login ends after this long without a request (the clerk walked away)."""
    staff_session_max_hours: int = Field(default=12, ge=1, le=72)
    """And after this long in any case: one working day."""
    refresh_token_days: int = 30
    hospital_timezone: str = "Asia/Shanghai"
    max_visit_persons: int = 5
    gate_recheck_seconds: float = 2.0
    """How long a schedule known to be sold out is answered from memory before the database is asked again."""
    booking_claimers_per_schedule: int = 8
    """Booking transactions of one schedule in flight at once per process; the rest wait in memory."""
    payment_hold_minutes: int = 15
    """How long a booking awaiting online payment holds its slot (then it expires and the slot returns)."""
    visit_reminder_time: time = time(18, 0)
    """Local time on the evening before a visit when reminders go out."""
    no_show_threshold: int = 3
    no_show_window_days: int = 90
    no_show_ban_days: int = 90

    queue_url: str = ""
    """Task queue: empty for a SQLite queue file under ./var (embedded), ``sqlite:///path``, or
    ``redis://host:6379/0``."""
    queue_name: str = "yiyue"
    outbox_redeliver_seconds: int = 60
    """An event neither handled nor failed this long after it was due is handed to the queue again."""
    embedded_workers: int = 2
    """Job worker threads inside ``yiyue serve``/``demo``; 0 when separate ``yiyue worker`` processes run."""

    # --- real-name check (实名认证), issue 9 part C -------------------------------------------------
    realname_api_base: str = FAKE_WECHAT_IN_PROCESS
    """The verification service's base URL (the hospital's chosen provider); by default the fake one served
    in-process with the fake WeChat (``yiyue.wechat.fake.realname``). Production must name a real one."""
    realname_app_id: str = "yiyue-dev"
    """Our app id at the verification service."""
    realname_app_secret: str = Field(default="", repr=False)
    """The shared secret that signs requests (HMAC-SHA256). Development derives one from the secret key."""
    realname_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long a check may take before the person is left 未认证 (to be verified again later)."""

    # --- issue 9 / E: rate limits, staff login lockout, token families, body size -----------------
    redis_url: str = ""
    """``redis://host:6379/0`` to share rate limits, login lockouts and revoked token families between
    processes; empty keeps them in each process's memory (the embedded default)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses (or networks) of reverse proxies whose ``X-Forwarded-For`` is believed; empty: none."""
    rate_limit_strategy: str = "moving-window"
    """``moving-window`` (exact) or ``fixed-window`` (cheaper, allows a burst at a window's edge)."""
    rate_limit_booking_account: str = "30/minute;300/day"
    rate_limit_booking_ip: str = "120/minute"
    rate_limit_wechat_login_ip: str = "60/minute"
    rate_limit_refresh_ip: str = "60/minute"
    rate_limit_patients_account: str = "10/hour;20/day"
    rate_limit_patients_ip: str = "60/hour"
    rate_limit_realname_account: str = "10/hour;20/day"
    rate_limit_realname_ip: str = "60/hour"
    rate_limit_release_account: str = "30/minute"
    rate_limit_release_ip: str = "120/minute"
    rate_limit_search_ip: str = "600/minute"
    """Anonymous catalog reads per address (generous: a hospital's Wi-Fi is one address)."""
    staff_login_lock_after: int = 5
    """Failed staff logins in a row for one user name before it is locked (then 1 min, doubling)."""
    staff_login_ip_lock_after: int = 20
    """The same per address (several clerks behind one address mistype too)."""
    staff_login_lock_seconds: int = 60
    staff_login_lock_max_seconds: int = 3600
    staff_login_concurrent_verifications: int = 0
    """Password verifications (argon2, a CPU for ~0.1 s each) running at once in a process; the rest wait
    their turn. 0: half the CPUs, at least 1 and at most 2, so the patient API always keeps a core."""
    refresh_reuse_grace_seconds: float = 10.0
    """A used refresh token presented again within this long is refused without revoking its family (two
    refreshes racing); later it revokes the family (a stolen copy)."""
    revoked_family_recheck_seconds: float = 5.0
    """How long a token family known to be live is trusted before the database is asked again."""
    max_body_bytes: int = 64 * 1024
    """Largest request body on /api/ (and the console, except its import forms)."""
    body_limits: dict[str, int] = Field(default_factory=lambda: {"/admin/": 1024 * 1024})
    """Larger (or smaller) limits by path prefix, the longest matching prefix winning. The console's forms
    (urlencoded, no file uploads) get 1 MB: a long schedule form or notice is still far below it."""

    # --- issue 10 / gate: the counting gate (booking/gate) -----------------------------------------
    # With ``redis_url`` the gate's slot counts live in Redis, shared by every process; a count lapses
    # after ``gate_recheck_seconds`` and is read from the database again.
    gate_redis_local_seconds: float = Field(default=0.05, ge=0, le=1)
    """How long a refusal Redis gave is answered from this process's memory (the rush after a sell-out);
    a slot freed in another process is seen here at most this much later. 0: always ask Redis."""
    gate_redis_timeout_seconds: float = Field(default=1.0, gt=0, le=5)
    """How long the gate waits for Redis (a connection, an answer) before the database decides alone."""
    gate_redis_prefix: str = "yiyue:gate"
    """Key prefix of the counts in Redis (several deployments, or test runs, may share one Redis)."""
    gate_redis_connections: int = Field(default=32, ge=1, le=1024)
    """Connections to Redis per process for the gate; a rush waits for one rather than opening more."""
    gate_redis_retry_seconds: float = Field(default=1.0, ge=0, le=60)
    """After Redis failed, how long bookings go straight to the database before Redis is tried again."""

    # --- issue 10 / processes: pool, workers, shutdown --------------------------------------------
    database_pool_size: int = Field(default=10, ge=1, le=500)
    """Database connections each server process keeps open. The budget (decision 0017, README "Connection
    budget"): server processes × (pool size + overflow) + worker processes × threads × (worker pool size +
    worker overflow) ≤ PostgreSQL's max_connections − reserve. The defaults: 2 servers of 2 processes and a
    worker of 2 threads take at most 2 × 2 × 15 + 2 × 3 = 66 of PostgreSQL's default 100."""
    database_max_overflow: int = Field(default=5, ge=0, le=500)
    """Connections a server process may open beyond its pool at a peak (closed again when given back)."""
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """How long a request waits for a free connection before it is answered 503 ``SERVICE_BUSY``."""
    worker_database_pool_size: int = Field(default=2, ge=1, le=100)
    """The same for each thread of a ``yiyue worker`` (one job at a time per thread)."""
    worker_database_max_overflow: int = Field(default=1, ge=0, le=100)
    database_statement_cache_size: int = Field(default=100, ge=0, le=10_000)
    """asyncpg's prepared statements cached per connection. 0 behind PgBouncer in transaction mode (a
    session's next transaction may run on another server connection, where the statement does not exist)."""
    busy_retry_after_seconds: int = Field(default=2, ge=1, le=300)
    """The ``Retry-After`` of a 503 ``SERVICE_BUSY`` (no database connection to be had in time)."""
    server_workers: int = Field(default=1, ge=1, le=64)
    """Processes ``yiyue serve`` runs (``--workers``). Each has its own pool and its own embedded job
    workers; the in-process fake WeChat cannot be shared by them (run ``yiyue fake-wechat``)."""
    shutdown_grace_seconds: int = Field(default=30, ge=1, le=600)
    """On SIGTERM a server stops accepting connections and lets the requests in flight finish for up to
    this long (uvicorn's ``timeout_graceful_shutdown``) before it cancels them; then its job workers stop
    after their current job."""
    log_format: Literal["json", "text"] = "json"
    """Issue 13 (decision 0021): log lines as JSON objects (``serve``, ``worker``, ``migrate``) or as text;
    ``yiyue demo`` defaults to text. ``core.logs.configure`` reads ``YIYUE_LOG_FORMAT`` itself, before
    anything else runs; this field names and checks the setting."""

    # --- issue 10 / reads: catalog and availability cache, ETag -----------------------------------
    read_cache: bool = True
    """Answer catalog and availability reads from a cache (``core.cache``); off: every read asks the database."""
    read_cache_catalog_seconds: float = Field(default=300.0, ge=0)
    """How long a catalog answer (hospitals, departments, doctors) is kept. Staff edits drop it at once (in
    Redis for every process when ``redis_url`` is set); this only bounds writes made around the app."""
    read_cache_availability_seconds: float = Field(default=1.0, ge=0, le=1.0)
    """How long an availability answer (remaining numbers) is kept in each process: at most 1 s stale.
    A booking, cancellation or schedule change in the same process drops it at once."""
    read_cache_max_entries: int = Field(default=4096, ge=16)
    """Answers kept in a process's memory per region (least recently used go first)."""
    read_cache_key_prefix: str = "yiyue:cache:"
    """Prefix of the cache's Redis keys (tests give each run its own)."""

    # --- issue 13 / read replica (decision 0022) ---------------------------------------------------
    database_replica_url: str = ""
    """A read replica (e.g. a PostgreSQL streaming standby) for the catalog, the console's exports and
    analytics; empty: none, they read from the primary. Writes and read-your-own-write reads never go there."""
    database_replica_lag_seconds: float = Field(default=5.0, ge=0, le=300)
    """The longest the replica is expected to lag: a catalog answer cached from it within this time after a
    write is dropped again at its end (``core.replica.LagGuard``)."""

    # --- issue 13 / metrics (decision 0020) ----------------------------------------------------------
    metrics_token: str = Field(default="", repr=False)
    """The bearer token Prometheus sends to scrape ``GET /metrics`` (``Authorization: Bearer ...``); empty:
    the endpoint is off (404). At least 16 characters when set."""
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    """Port of ``yiyue worker``'s own ``GET /metrics`` (its jobs; same token), on all addresses; 0: none."""

    # --- issue 10 / jobs: outbox fan-out ----------------------------------------------------------

    @model_validator(mode="after")
    def _fill_development_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{var_dir() / 'yiyue.db'}"
        if self.environment == "production" and self.wechat_api_base == FAKE_WECHAT_IN_PROCESS:
            raise ValueError("production needs YIYUE_WECHAT_API_BASE (https://api.weixin.qq.com), not the fake")
        for name in _PEM_SETTINGS:
            setattr(self, name, _pem_or_path(name, getattr(self, name)))
        missing = [name for name in _SECRETS if not getattr(self, name)]
        if self.environment == "production":
            missing += [name for name in _PAY_REQUIRED_IN_PRODUCTION if not getattr(self, name)]
        else:
            self.wechat_pay_mchid = self.wechat_pay_mchid or DEV_WECHAT_PAY_MCHID
            self.wechat_pay_notify_url = self.wechat_pay_notify_url or DEV_WECHAT_PAY_NOTIFY_URL
            missing += [name for name in _PAY_SECRETS if not getattr(self, name)]
        if missing:
            if self.environment == "production":
                raise ValueError(
                    f"production needs explicit settings: {', '.join('YIYUE_' + m.upper() for m in missing)}"
                )
            generated = _development_secrets(missing)
            for name in missing:
                setattr(self, name, generated[name])
            log.warning(
                "!!! DEVELOPMENT SECRETS in use for %s (generated into %s). Never use them in production. !!!",
                ", ".join("YIYUE_" + m.upper() for m in missing),
                var_dir() / "dev-secrets.json",
            )
        if self.environment == "production":
            self._check_production_pay()
        if len(self.wechat_pay_apiv3_key.encode()) != 32:
            raise ValueError("YIYUE_WECHAT_PAY_APIV3_KEY must be 32 characters (the APIv3 key of the merchant portal)")
        return self

    @model_validator(mode="after")
    def _check_metrics_token(self) -> Settings:
        if self.metrics_token and len(self.metrics_token) < 16:  # issue 13: a guessable token is no lock
            raise ValueError("YIYUE_METRICS_TOKEN must be at least 16 characters (or empty: /metrics off)")
        return self

    @model_validator(mode="after")
    def _check_realname(self) -> Settings:
        """Real-name check (issue 9 part C): production names a real provider and its secret; development
        signs for the in-process fake with a secret derived from the (generated) secret key."""
        if self.environment == "production":
            if self.realname_api_base == FAKE_WECHAT_IN_PROCESS:
                raise ValueError("production needs YIYUE_REALNAME_API_BASE (the verification service), not the fake")
            if not self.realname_app_secret:
                raise ValueError("production needs explicit settings: YIYUE_REALNAME_APP_SECRET")
            if not self.realname_api_base.startswith("https://"):  # names and ID numbers travel in it
                raise ValueError("YIYUE_REALNAME_API_BASE must be an https:// URL in production")
        elif not self.realname_app_secret:
            digest = hmac.new(self.secret_key.encode(), b"yiyue realname app secret", hashlib.sha256)
            self.realname_app_secret = digest.hexdigest()
        return self

    def _check_production_pay(self) -> None:
        if self.wechat_pay_api_base == FAKE_WECHAT_IN_PROCESS:
            raise ValueError("production needs YIYUE_WECHAT_PAY_API_BASE (https://api.mch.weixin.qq.com), not the fake")
        if not self.wechat_pay_notify_url.startswith("https://"):
            raise ValueError("YIYUE_WECHAT_PAY_NOTIFY_URL must be an https:// URL (WeChat Pay posts only to HTTPS)")

    @property
    def blind_index_secret(self) -> bytes:
        return base64.b64decode(self.blind_index_key)

    @property
    def data_keys(self) -> dict[str, bytes]:
        keys = {kid: base64.b64decode(value) for kid, value in self.old_data_keys.items()}
        keys[self.data_key_id] = base64.b64decode(self.data_key)
        return keys


def _development_secrets(names: list[str]) -> dict[str, Any]:
    """Generated once per working directory so that encrypted demo data stays readable across restarts.

    Only the values missing from the file are generated, so a new kind of secret never replaces the keys
    that existing demo data was written with.
    """
    path = var_dir() / "dev-secrets.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    absent = [name for name in names if name not in data]
    if absent:
        data.update(_generate_secrets(absent))
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(data, indent=2))
        scratch.chmod(0o600)
        scratch.replace(path)
    return data


def _generate_secrets(names: list[str]) -> dict[str, str]:
    simple: dict[str, Callable[[], str]] = {
        "secret_key": lambda: secrets.token_urlsafe(48),
        "data_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "blind_index_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "wechat_secret": lambda: secrets.token_hex(16),
    }
    generated = {name: make() for name, make in simple.items() if name in names}
    if any(name.startswith("wechat_pay_") for name in names):
        generated.update(generate_development_pay_secrets())  # key pairs come whole, never half-replaced
    return generated


def generate_development_pay_secrets() -> dict[str, str]:
    """Fresh WeChat Pay credentials for development and tests, keyed by setting name.

    Two RSA-2048 key pairs: the merchant's (it signs requests; the fake verifies them with the public half)
    and WeChat Pay's (the fake signs responses and notifications; we verify with ``wechat_pay_public_key``).
    """
    merchant, platform = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    return {
        "wechat_pay_merchant_private_key": _private_pem(merchant),
        "wechat_pay_merchant_serial_no": secrets.token_hex(20).upper(),
        "wechat_pay_apiv3_key": secrets.token_hex(16),
        "wechat_pay_public_key": platform.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "wechat_pay_public_key_id": "PUB_KEY_ID_" + "".join(secrets.choice("0123456789") for _ in range(32)),
        "wechat_pay_fake_platform_private_key": _private_pem(platform),
    }


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_or_path(name: str, value: str) -> str:
    """A PEM given inline (real or ``\\n``-escaped newlines, as env files often carry it) or a file's path."""
    if not value or value.lstrip().startswith("-----BEGIN"):
        return value.replace("\\n", "\n") if "\n" not in value else value
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"YIYUE_{name.upper()} is neither a PEM nor the path of a readable file")
    return path.read_text()


@lru_cache
def get_settings() -> Settings:
    return Settings()
