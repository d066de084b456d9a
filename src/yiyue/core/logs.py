"""Structured logs: one JSON object a line, each carrying the id of the request (or job) that wrote it.

Every process configures logging once, here (``configure``): the standard library's loggers, which the
code and its libraries (uvicorn, huey, httpx, SQLAlchemy) write to, are rendered by structlog as JSON
(``YIYUE_LOG_FORMAT=json``, the default) or as readable text (``text``). Values bound with
``structlog.contextvars`` (the request id, a job's event) join every line written while they are bound.

``RequestLog`` (``install``) is the outermost middleware: it takes the caller's ``X-Request-ID`` (or makes
one), binds it for the request, returns it on the response and writes one line per request with the route
template (never the path, which holds ids and query strings), the status and the duration. The outbox
stores the request id with each event (``current_request_id``) and the job system binds it again while the
event is handled, so a job's lines carry the id of the request whose commit caused them (decision 0021).

No personal data goes into a line: the code logs ids and codes, never ID numbers, phones, names or message
text; as a net under that, ``redact`` masks anything shaped like an ID number or a mobile number.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = "request_id"
"""The context key (and JSON field) of the request id."""
UNMATCHED = "unmatched"
"""The route of a request no route took (a 404, or an answer given before routing)."""

LogFormat = Literal["json", "text"]

ACCESS_LOG_ENV = "YIYUE_ACCESS_LOG"
"""``0`` turns the request lines off (``yiyue serve --no-access-log``, the benchmarks): the ids stay."""

_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""What we take from a caller's X-Request-ID: a load balancer's or a client's id; anything else (too long,
spaces, newlines that would forge lines in a text log) is replaced by our own."""

# An 18-character resident ID number (GB 11643) or an 11-digit mainland mobile number, not inside a longer
# run of digits (ids, amounts and timestamps are longer or shorter).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
REDACTED = "[redacted]"

# Plain standard-library loggers, their fields given as ``extra``: a process (or a test) that never called
# ``configure`` logs these like any other line, and one formatter renders them all.
log = logging.getLogger("yiyue.http")
job_log = logging.getLogger("yiyue.jobs")

_OURS = "_yiyue_handler"


# -- configuration --------------------------------------------------------------------------------


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: masks what looks like an ID number or a phone in any text of the line (an
    exception's message, a library's line), the net under logging ids only."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = _MOBILE.sub(REDACTED, _ID_NUMBER.sub(REDACTED, value))
    return event_dict


def _add_pid(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Which process wrote the line: ``serve --workers N`` runs N of them, each with its job workers."""
    event_dict["pid"] = os.getpid()
    return event_dict


def _leading_fields(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Time, level, logger and message first, so a line reads left to right; the rest as bound or given."""
    first = {key: event_dict.pop(key) for key in ("time", "level", "logger", "message") if key in event_dict}
    return {**first, **event_dict}


def _drop_color_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """uvicorn gives each line again with terminal colours (``extra={"color_message": ...}``): not for JSON."""
    event_dict.pop("color_message", None)
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        _add_pid,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]


def _renderer(log_format: LogFormat) -> Any:
    if log_format == "text":
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer(ensure_ascii=False)


def configure(
    log_format: str | None = None,
    *,
    default: LogFormat = "json",
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Sends every log line of this process to ``stream`` (standard error) as JSON or text; idempotent.
    ``log_format``: ``json`` | ``text``; when not given, ``YIYUE_LOG_FORMAT`` or ``default``. Read from the
    environment rather than the settings: logging comes first, before the settings can say anything."""
    chosen = (log_format or os.environ.get("YIYUE_LOG_FORMAT") or default).strip().lower()
    if chosen not in ("json", "text"):
        raise ValueError(f"YIYUE_LOG_FORMAT must be json or text, not {chosen!r}")
    fmt: LogFormat = "text" if chosen == "text" else "json"
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # configure() may run again (tests): loggers follow it
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder(), _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            redact,
            _leading_fields,
            _renderer(fmt),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _OURS, False):  # configured before: replaced, not doubled
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # RequestLog writes the request line; uvicorn's access line would add the raw path, its query string
    # (a search by name or phone) and the client's address.
    logging.getLogger("uvicorn.access").disabled = True
    log.disabled = os.environ.get(ACCESS_LOG_ENV, "1").strip() == "0"
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own handlers (when it configured them) give way to ours
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler


# -- the request id -------------------------------------------------------------------------------


def current_request_id() -> str | None:
    """The id of the request (or of the request behind the job) being served, if any."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return value if isinstance(value, str) else None


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _ACCEPTED_REQUEST_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The route that took the request, as declared (``/api/v1/appointments/{appointment_id}``); mounted
    apps' routes under their mount. ``unmatched`` when no route took it."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    mount = scope.get("root_path", "") or ""
    app_root = scope.get("app_root_path", "") or ""
    prefix = mount[len(app_root) :] if mount.startswith(app_root) else ""
    return f"{prefix}{template}"


def install(app: Starlette) -> None:
    """Puts ``RequestLog`` around the whole app, outside even Starlette's error middleware: the 500 that
    renders an unhandled error gets its ``X-Request-ID``, and the error's line is written while it is bound."""
    build = app.build_middleware_stack

    def build_with_request_log() -> ASGIApp:
        return RequestLog(build())

    app.build_middleware_stack = build_with_request_log  # type: ignore[method-assign]


class RequestLog:
    """ASGI middleware, the outermost: a request id for every request (the caller's ``X-Request-ID`` when
    acceptable), bound while it is served and sent back in ``X-Request-ID``, and one line when it ends:
    method, route template, status, duration. Never the path, the query or the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        status = 500  # what the caller sees when the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not log.disabled:
                line = {
                    "method": scope["method"],
                    "route": route_template(scope),
                    "status": status,
                    "duration_ms": _ms_since(started),
                }
                log.info("request", extra=line)
            structlog.contextvars.reset_contextvars(**tokens)


# -- jobs -----------------------------------------------------------------------------------------


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@contextmanager
def job(event_id: int) -> Iterator[None]:
    """While an outbox event is handled: its id joins every line (``bind_event`` adds its topic and the
    request id it was written with), and one line says how it ended and how long it took. Whatever was
    bound before comes back afterwards (a test drains jobs in its own context)."""
    before = structlog.contextvars.get_contextvars()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(event_id=event_id)
    started = time.perf_counter()
    outcome = "done"
    try:
        yield
    except BaseException as exc:
        outcome = "retry" if type(exc).__name__ == "RetryTask" else "error"
        raise
    finally:
        job_log.info("job", extra={"outcome": outcome, "duration_ms": _ms_since(started)})
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**before)


def bind_event(*, topic: str, request_id: str | None) -> None:
    """Inside ``job``: the event's topic and the request it came from join the job's lines. Events the
    handlers write carry the same request id on (``current_request_id``)."""
    structlog.contextvars.bind_contextvars(topic=topic)
    if request_id is not None:
        structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})
