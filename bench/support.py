"""What the benchmarks share: made-up but valid ID numbers, an emptied PostgreSQL database, and a real
server process."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from yiyue.accounts.idcard import check_digit


def id_number(serial: int) -> str:
    """A valid resident ID number (GB 11643 check digit), different for each serial below 3,000. Its
    sequence digits are never 999: the fake real-name service answers those with a provider error."""
    first17 = f"110105{1950 + serial % 60}0101{serial % 999:03d}"
    return first17 + check_digit(first17)


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@contextmanager
def server_process(url: str, workdir: Path) -> Iterator[str]:
    """``yiyue serve`` (one process, its embedded job workers) on ``url`` with fresh secrets and a free
    port; yields its base URL and stops it afterwards. Its log goes to ``workdir / "server.log"``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "YIYUE_DATABASE_URL": url,
        "YIYUE_VAR_DIR": str(workdir),
        "YIYUE_SECRET_KEY": secrets.token_urlsafe(32),
        "YIYUE_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "YIYUE_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "YIYUE_WECHAT_SECRET": "bench",
    }
    command = [sys.executable, "-m", "yiyue.cli", "serve", "--port", str(port), "--no-access-log"]
    with open(workdir / "server.log", "w") as log, subprocess.Popen(command, env=env, stderr=log) as server:
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
