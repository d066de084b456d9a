"""A flood of bad staff logins against a patient's reads (issue 9): p50/p95 of GET /api/v1/me/patients
while N wrong-password logins (real argon2) arrive at once.

    .venv/bin/python bench/staff_login_flood.py [--logins 200] [--mode same-user|many-users]

A real server (uvicorn, one process) on a fresh SQLite database. ``same-user``: every login is for one
user name; ``many-users``: each for another (unknown) user name, all from one address. Prints the
patient's latencies when quiet and during the flood, and the flood's answers by code.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import uvicorn

from yiyue.app import create_app
from yiyue.core.config import Settings
from yiyue.core.migrate import upgrade


def _serve(settings: Settings, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def _reader(url: str, auth: dict[str, str], stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=60, headers=auth) as http:
        while not stop.is_set():
            started = time.perf_counter()
            http.get("/api/v1/me/patients")
            out.append(time.perf_counter() - started)
            time.sleep(0.02)


async def _flood(url: str, n: int, mode: str) -> Counter[str]:
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=httpx.Limits(max_connections=100)) as http:

        async def one(i: int) -> str:
            user = "admin" if mode == "same-user" else f"nobody{i}"
            answer = await http.post("/api/v1/staff/auth/login", json={"username": user, "password": "wrong-pass-1"})
            return f"{answer.status_code} {answer.json().get('code')}"

        return Counter(await asyncio.gather(*(one(i) for i in range(n))))


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--mode", choices=["same-user", "many-users"], default="same-user")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="yiyue-flood-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{work / 'flood.db'}",
        secret_key="bench-secret-key-not-for-production-0123456789",
        data_key=base64.b64encode(b"k" * 32).decode(),
        blind_index_key=base64.b64encode(b"i" * 32).decode(),
        wechat_secret="bench-wechat-secret",
        queue_url=f"sqlite:///{work / 'queue.db'}",
        embedded_workers=0,
    )
    upgrade(settings.database_url)
    server = _serve(settings, args.port)
    url = f"http://127.0.0.1:{args.port}"
    with httpx.Client(base_url=url) as http:
        code = http.post("/__wechat__/__fake__/login-code", json={"openid": "o-bench"}).json()["code"]
        token = http.post("/api/v1/auth/wechat-login", json={"code": code}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    phases: dict[str, list[float]] = {"quiet": [], "flood": []}
    stop = threading.Event()
    reader = threading.Thread(target=_reader, args=(url, auth, stop, phases["quiet"]))
    reader.start()
    time.sleep(3)
    stop.set()
    reader.join()

    stop = threading.Event()
    reader = threading.Thread(target=_reader, args=(url, auth, stop, phases["flood"]))
    reader.start()
    started = time.perf_counter()
    answers = asyncio.run(_flood(url, args.logins, args.mode))
    took = time.perf_counter() - started
    stop.set()
    reader.join()
    server.should_exit = True

    print(f"{args.logins} bad staff logins ({args.mode}) in {took:.1f} s: {dict(answers)}")
    for phase, values in phases.items():
        print(
            f"patient GET /me/patients {phase:5}: n={len(values)} p50 {_ms(values, 0.5)} ms, "
            f"p95 {_ms(values, 0.95)} ms, max {max(values) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
