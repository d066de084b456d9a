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

import asyncio
import atexit
import json
import logging
import multiprocessing.util
import os
import queue
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any, Literal, TextIO

import structlog
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = "request_id"
"""The context key (and JSON field) of the request id."""
UNMATCHED = "unmatched"
"""The route of a request no route took (a 404): the one label for every path no route declares."""
ROUTE_KEY = "yiyue.route"
"""Scope key with the route template of an answer given before routing (the sold-out fast path)."""
CLIENT_CLOSED = 499
"""The status logged and counted for a request cancelled before its answer began (the client went away,
or the server's graceful shutdown gave up on it), as nginx does: not the server's 500."""

LogFormat = Literal["json", "text"]

ACCESS_LOG_ENV = "YIYUE_ACCESS_LOG"
"""``0`` turns the request lines off (``yiyue serve --no-access-log``, the benchmarks): the ids stay."""

_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""What we take from a caller's X-Request-ID: a load balancer's or a client's id; anything else (too long,
spaces, newlines that would forge lines in a text log) is replaced by our own."""

# An 18-character resident ID number (GB 11643) or an 11-digit mainland mobile number, not inside a longer
# run of digits (ids, amounts and timestamps are longer or shorter).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
# The mobile number also with +86 / 86 before it and with dashes or spaces between its groups (3-4-4).
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
# PostgreSQL's DETAIL (and HINT) of an error quote the row's values: "Key (openid)=(o-...) already exists",
# "Failing row contains (...)". asyncpg puts them into the exception's text; they never reach a line.
_DB_DETAIL = re.compile(
    r"(DETAIL|HINT):.*?(?=\n\[SQL:|\n\(Background on|\n\n|\Z)|Failing row contains \(.*?\)(?=\.?\s*$)",
    re.DOTALL | re.MULTILINE,
)
REDACTED = "[redacted]"

# Plain standard-library loggers, their fields given as ``extra``: a process (or a test) that never called
# ``configure`` logs these like any other line, and one formatter renders them all.
log = logging.getLogger("yiyue.http")
job_log = logging.getLogger("yiyue.jobs")

_OURS = "_yiyue_handler"


# -- configuration --------------------------------------------------------------------------------


def redact_text(text: str) -> str:
    """``text`` without what looks like an ID number, a mobile number or a database error's DETAIL."""
    if "DETAIL:" in text or "HINT:" in text or "Failing row" in text:
        text = _DB_DETAIL.sub(lambda m: f"{m.group(1) or 'Failing row'}: {REDACTED}", text)
    return _MOBILE.sub(REDACTED, _ID_NUMBER.sub(REDACTED, text))


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: masks what looks like an ID number or a phone in any text of the line (an
    exception's message, a library's line, inside a dict or list given as ``extra``), and the DETAIL of a
    database error: the net under logging ids only."""
    for key, value in event_dict.items():
        event_dict[key] = _redact_value(value)
    return event_dict


def describe_error(exc: BaseException) -> str:
    """An exception as it may be stored or logged (``outbox_events.last_error``): a database error as its
    class and SQLSTATE only (its text quotes the statement's values), any other redacted."""
    from sqlalchemy.exc import DBAPIError  # here: the logs of a process without a database need no SQLAlchemy

    if isinstance(exc, DBAPIError):
        orig = exc.orig
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        cause = getattr(orig, "__cause__", None)
        code = code or getattr(cause, "sqlstate", None)
        driver = type(cause if cause is not None else orig).__name__
        return f"{type(exc).__name__} ({driver}{f', SQLSTATE {code}' if code else ''})"
    return redact_text(f"{type(exc).__name__}: {exc}")


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
    event_dict.pop(_CONTEXT, None)  # the record's context, merged already (ExtraAdder copies it as an extra)
    return event_dict


_CONTEXT = "_yiyue_context"
"""The record's attribute with the context bound where it was logged (the listener's thread has none)."""


def _merge_record_context(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The foreign chain runs in the listener's thread: the ids bound where the line was logged come with
    its record (``_Enqueue.prepare``); a record formatted in place (no queue) reads them here."""
    record = event_dict.get("_record")
    context = getattr(record, _CONTEXT, None)
    if context is None:
        context = structlog.contextvars.get_contextvars()
    for key, value in context.items():
        event_dict.setdefault(key, value)
    return event_dict


def _record_time(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """When the line was logged (the record's time), not when the listener formatted it."""
    record = event_dict.get("_record")
    created = record.created if record is not None else time.time()
    event_dict.setdefault("time", _iso(created))
    return event_dict


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        _add_pid,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]


def _foreign_processors() -> list[Any]:
    return [
        _merge_record_context,
        _add_pid,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _record_time,
    ]


class _Enqueue(QueueHandler):
    """The root's handler: a record goes onto the queue as it is (with the context bound where it was
    logged); the listener's thread formats and writes it, off the event loop."""

    listener: _Listener

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        setattr(record, _CONTEXT, structlog.contextvars.get_contextvars())
        return record

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("uvicorn"):
            # The server's own lines (start, stop, "Finished server process") are few and come last: a
            # process uvicorn stops re-raises SIGTERM right after them, with no time for the thread. They
            # are written here, after what was queued before them.
            self.listener.queue.join()  # type: ignore[attr-defined]
            self.listener.stream_handler.handle(record)
            return
        super().emit(record)


class _Listener(QueueListener):
    """Writes the queued records through the stream handler, and the request lines (already rendered
    strings, ``RequestLog``) straight to its stream."""

    def __init__(self, q: queue.Queue[Any], handler: logging.StreamHandler[TextIO]) -> None:
        super().__init__(q, handler)
        self.stream_handler = handler

    def _monitor(self) -> None:
        """Takes what is queued in batches: the request lines of a rush in one write and one flush."""
        q: Any = self.queue
        while True:
            batch = [q.get()]
            while True:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            lines: list[str] = []
            stop = False
            for item in batch:
                if item is self._sentinel:  # type: ignore[attr-defined]
                    stop = True
                elif isinstance(item, str):
                    lines.append(item)
                else:
                    self._write(lines)
                    self.handle(item)
            self._write(lines)
            for _ in batch:
                q.task_done()
            if stop:
                return

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        handler = self.stream_handler
        with handler.lock or _NO_LOCK:
            try:
                handler.stream.write(handler.terminator.join(lines) + handler.terminator)
                handler.flush()
            except Exception:  # a closed stream: as logging does, never the caller's problem
                pass
        lines.clear()


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stderr`` as it is when a line is written, not as it was at ``configure``: a runner
    that swaps it for a buffer of its own (a CLI test, pytest's capture) closes that buffer afterwards."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None


_NO_LOCK = _NoLock()
_sink: Callable[[str], None] | None = None
"""Where ``RequestLog`` puts its rendered line (the listener's queue); None: through ``log`` instead."""
_text_lines = False


def flush() -> None:
    """Waits until every line logged so far is written (tests read them; a command about to exit)."""
    for handler in logging.getLogger().handlers:
        listener = getattr(handler, _OURS, None)
        if isinstance(listener, _Listener):
            listener.queue.join()  # type: ignore[attr-defined]


def unconfigure(handler: logging.Handler) -> None:
    """Takes a handler ``configure`` returned off the root, its lines written and its thread stopped."""
    global _sink
    logging.getLogger().removeHandler(handler)
    listener = getattr(handler, _OURS, None)
    if isinstance(listener, _Listener):
        if listener._thread is not None:
            listener.stop()
        if _sink is not None and getattr(listener, "_sink", None) is _sink:
            _sink = None


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
    queued: bool = True,
) -> logging.Handler:
    """Sends every log line of this process to ``stream`` (standard error) as JSON or text; idempotent.
    ``log_format``: ``json`` | ``text``; when not given, ``YIYUE_LOG_FORMAT`` or ``default``. Read from the
    environment rather than the settings: logging comes first, before the settings can say anything.

    ``queued`` (the default): the root's handler only puts records on a queue; a thread formats and writes
    them, so neither the formatting nor a slow standard error stalls the event loop (decision 0021)."""
    global _sink, _text_lines
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
        foreign_pre_chain=[*_foreign_processors(), structlog.stdlib.ExtraAdder(), _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            redact,
            _leading_fields,
            _renderer(fmt),
        ],
    )
    stream_handler: logging.StreamHandler[TextIO] = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    )
    stream_handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _OURS, None) is not None:  # configured before: replaced, not doubled
            unconfigure(old)
    handler: logging.Handler
    if queued:
        lines: queue.Queue[Any] = queue.Queue()
        handler = _Enqueue(lines)
        listener = _Listener(lines, stream_handler)
        handler.listener = listener
        listener._sink = lines.put_nowait  # type: ignore[attr-defined]
        listener.start()
        setattr(handler, _OURS, listener)
        _sink = listener._sink  # type: ignore[attr-defined]
        atexit.register(_stop_at_exit, handler)
        # A process multiprocessing started (uvicorn's --workers) ends with os._exit: no atexit, but its
        # finalizers run first. Either way what is queued (uvicorn's last lines) is written before the end.
        multiprocessing.util.Finalize(None, _stop_at_exit, args=(handler,), exitpriority=0)
    else:
        handler = stream_handler
        setattr(handler, _OURS, True)
        _sink = None
    _text_lines = fmt == "text"
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


def _stop_at_exit(handler: logging.Handler) -> None:
    listener = getattr(handler, _OURS, None)
    if isinstance(listener, _Listener) and listener._thread is not None:
        listener.stop()  # what is queued is written before the process ends


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


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that answered (``/api/v1/appointments/{appointment_id}``, never the path
    with its ids), with the prefix of the app it is mounted in; the one helper of the request line and
    the metrics' ``route`` label. ``root_path``: the scope's ``root_path`` when the request came in.
    An answer given before routing names its route in ``ROUTE_KEY`` (the sold-out fast path); a mount
    without routes of its own (static files) is ``{mount}/*``; no route at all, ``unmatched``."""
    given = scope.get(ROUTE_KEY)
    if isinstance(given, str):
        return given
    mounted = (scope.get("root_path", "") or "")[len(root_path) :]
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str):
        return f"{mounted}{path}" or "/"
    return f"{mounted}/*" if mounted else UNMATCHED


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
        root_path = scope.get("root_path", "") or ""
        status = 500  # what the caller sees when the app fails before it answers
        started_answer = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_answer
            if message["type"] == "http.response.start":
                status = message["status"]
                started_answer = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            if not started_answer:
                status = CLIENT_CLOSED
            raise
        except Exception:
            if started_answer:
                # The app logged it (with the request id) and answered 500: Starlette's error middleware
                # raises it again only for the server to log, a second time and without the id.
                return
            raise
        finally:
            if not log.disabled:
                write_request_line(scope["method"], route_template(scope, root_path), status, started, request_id)
            structlog.contextvars.reset_contextvars(**tokens)


def write_request_line(method: str, route: str, status: int, started: float, request_id: str) -> None:
    """The request line, the lean way: every value is ours (no redaction, no structlog chain), rendered
    once here and written by the listener's thread; without ``configure``'s queue, through ``log``."""
    sink = _sink
    duration = _ms_since(started)
    if sink is None or _text_lines or not log.isEnabledFor(logging.INFO):
        log.info("request", extra={"method": method, "route": route, "status": status, "duration_ms": duration})
        return
    # A JSON object put together as text: the time and the numbers are ours, the id matched
    # _ACCEPTED_REQUEST_ID or is our hex; the method and the route are quoted by json.dumps.
    sink(
        f'{{"time": "{_iso(time.time())}", "level": "info", "logger": "yiyue.http", "message": "request", '
        f'"pid": {_PID}, "{REQUEST_ID}": "{request_id}", "method": {json.dumps(method)}, '
        f'"route": {json.dumps(route, ensure_ascii=False)}, "status": {int(status)}, "duration_ms": {duration}}}'
    )


_PID = os.getpid()


# -- jobs -----------------------------------------------------------------------------------------


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


class JobOutcome:
    """How a job ended, in the words of ``yiyue_jobs_total``: ``handled``, ``already_handled`` (another
    run finished first, or nothing was left to do), ``retried``, ``failed`` (dead-lettered); ``error``
    when the job system itself failed. The job sets it; ``job`` logs it."""

    def __init__(self) -> None:
        self.outcome = "handled"


@contextmanager
def job(event_id: int) -> Iterator[JobOutcome]:
    """While an outbox event is handled: its id joins every line (``bind_event`` adds its topic and the
    request id it was written with), and one line says how it ended (the yielded ``JobOutcome``) and how
    long it took. Whatever was bound before comes back afterwards (a test drains jobs in its own context)."""
    before = structlog.contextvars.get_contextvars()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(event_id=event_id)
    started = time.perf_counter()
    ended = JobOutcome()
    try:
        yield ended
    except BaseException as exc:
        ended.outcome = "retried" if type(exc).__name__ == "RetryTask" else "error"
        raise
    finally:
        job_log.info("job", extra={"outcome": ended.outcome, "duration_ms": _ms_since(started)})
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**before)


def bind_event(*, topic: str, request_id: str | None) -> None:
    """Inside ``job``: the event's topic and the request it came from join the job's lines. Events the
    handlers write carry the same request id on (``current_request_id``)."""
    structlog.contextvars.bind_contextvars(topic=topic)
    if request_id is not None:
        structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})
