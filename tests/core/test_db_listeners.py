"""One after-commit telling of several channels: a listener that fails does not silence the others."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from yiyue.core import db as db_module


async def test_a_failing_listener_does_not_keep_later_channels_from_hearing(caplog: pytest.LogCaptureFixture) -> None:
    heard: list[tuple[str, list[Any]]] = []

    def failing(_facts: list[Any]) -> None:
        raise RuntimeError("enqueue failed")

    async def reopen(facts: list[Any]) -> None:
        heard.append(("gate", facts))

    listeners = {"outbox": failing, "gate": reopen, "cache": lambda facts: heard.append(("cache", facts))}
    session: Any = SimpleNamespace(info={"db": SimpleNamespace(listeners=listeners)})
    published = {"outbox": [1], "gate": [2], "cache": [3]}

    with caplog.at_level(logging.ERROR, logger=db_module.log.name):
        await db_module._tell_listeners(session, published)

    assert heard == [("gate", [2]), ("cache", [3])]
    assert any("outbox" in r.getMessage() and r.exc_info for r in caplog.records)
