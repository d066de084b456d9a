"""The task queue: Huey, on a SQLite file for the embedded default, on Redis at scale."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from yiyue.core.config import Settings, var_dir


def make_huey(settings: Settings) -> Huey:
    """``YIYUE_QUEUE_URL``: empty for a SQLite queue file under ./var, or ``redis://host:port/db``."""
    url, name = settings.queue_url, settings.queue_name
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, utc=True)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else str(var_dir() / "queue.db")
    return SqliteHuey(name, filename=path, utc=True, timeout=30)
