"""Settings from the environment (prefix ``YIYUE_``).

Every default is the embedded one, so a bare ``yiyue demo`` runs with nothing else installed. Secrets
that are not given are generated once into ``./var/dev-secrets.json`` and announced loudly: they are
for development only and must be set explicitly in production.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("yiyue.config")

FAKE_WECHAT_IN_PROCESS = "inprocess"
_SECRETS = ("secret_key", "data_key", "blind_index_key", "wechat_secret")


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

    subscribe_templates: dict[str, str] = Field(
        default_factory=lambda: {
            "booking_confirmed": "yiyue-booking-confirmed",
            "visit_reminder": "yiyue-visit-reminder",
            "cancelled": "yiyue-booking-cancelled",
        }
    )
    """Subscribe-message template ids by purpose; the defaults are the ones the fake WeChat knows."""

    access_token_minutes: int = 120
    refresh_token_days: int = 30
    hospital_timezone: str = "Asia/Shanghai"
    max_visit_persons: int = 5
    gate_recheck_seconds: float = 2.0
    """How long a schedule known to be sold out is answered from memory before the database is asked again."""

    @model_validator(mode="after")
    def _fill_development_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{var_dir() / 'yiyue.db'}"
        if self.environment == "production" and self.wechat_api_base == FAKE_WECHAT_IN_PROCESS:
            raise ValueError("production needs YIYUE_WECHAT_API_BASE (https://api.weixin.qq.com), not the fake")
        missing = [name for name in _SECRETS if not getattr(self, name)]
        if missing:
            if self.environment == "production":
                raise ValueError(
                    f"production needs explicit settings: {', '.join('YIYUE_' + m.upper() for m in missing)}"
                )
            generated = _development_secrets()
            for name in missing:
                setattr(self, name, generated[name])
            log.warning(
                "!!! DEVELOPMENT SECRETS in use for %s (generated into %s). Never use them in production. !!!",
                ", ".join("YIYUE_" + m.upper() for m in missing),
                var_dir() / "dev-secrets.json",
            )
        return self

    @property
    def blind_index_secret(self) -> bytes:
        return base64.b64decode(self.blind_index_key)

    @property
    def data_keys(self) -> dict[str, bytes]:
        keys = {kid: base64.b64decode(value) for kid, value in self.old_data_keys.items()}
        keys[self.data_key_id] = base64.b64decode(self.data_key)
        return keys


def _development_secrets() -> dict[str, Any]:
    """Generated once per working directory so that encrypted demo data stays readable across restarts."""
    path = var_dir() / "dev-secrets.json"
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text())
        if all(name in data for name in _SECRETS):
            return data
    data = {
        "secret_key": secrets.token_urlsafe(48),
        "data_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "blind_index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "wechat_secret": secrets.token_hex(16),
    }
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return data


@lru_cache
def get_settings() -> Settings:
    return Settings()
