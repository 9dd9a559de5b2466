"""Logging for every process (API, workers, beat, sandboxes, CLI): one setup, no secrets.

`configure_logging()` is called where each process starts (`create_app`, the Celery app
module, the sandboxes' and the CLI's entry points) and may be called again. It

- configures structlog: readable console lines in development, one JSON object per line
  where `LOG_FORMAT` says so (the default in production), with tracebacks formatted as plain
  text (never rich's, which print every frame's local variables: tokens among them) and,
  before anything is rendered, `redact_event_dict`;
- merges structlog's context variables into every line, so the ids bound for a request
  (`briefcast.api.request_id`) or a task (`briefcast.observability.trail`) are on each line
  logged while it runs;
- renders standard-library records the same way (structlog's `ProcessorFormatter`, on a
  handler of the root logger and on the handlers Celery and uvicorn set up), context
  variables included;
- makes every standard-library log record (uvicorn, Celery, httpx, SQLAlchemy, …) pass the
  same redaction when it is created, whoever configured the handlers;
- keeps httpx and httpcore at WARNING: at INFO they log every request's full URL.

What is redacted is `briefcast.redaction`'s business; secrets configured in settings are
also replaced wherever they appear literally.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from briefcast.redaction import redact, scrub_object, scrub_text

_known: tuple[str, ...] = ()
_traceback_formatter = logging.Formatter()
# The formatter standard-library handlers share (set by `configure_logging`), and the name of
# the root handler this module adds, so that configuring again replaces rather than adds.
_stdlib_formatter: logging.Formatter | None = None
ROOT_HANDLER_NAME = "briefcast"
# Loggers that do not propagate to the root and keep handlers of their own.
_OWN_HANDLER_LOGGERS = ("uvicorn", "uvicorn.access")


def redact_event_dict(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: secret-named keys (at any depth) and secrets inside any string,
    the event text and formatted tracebacks included, are replaced."""
    return {key: redact(value, key, _known) for key, value in event_dict.items()}


def _redact_record(record: logging.LogRecord) -> None:
    """Scrub a standard-library record in place: message, arguments, traceback, stack."""
    if isinstance(record.msg, str):
        record.msg = scrub_text(record.msg, _known)
    else:
        record.msg = scrub_object(record.msg, _known)
    if isinstance(record.args, Mapping):
        record.args = redact(record.args, None, _known)
    elif record.args:
        record.args = tuple(redact(arg, None, _known) for arg in record.args)
    if record.exc_info and not record.exc_text:
        # Formatters use a record's exc_text when it is set, so the traceback (whose last
        # line is the exception's message, an HTTPStatusError's URL included) is scrubbed.
        text = _traceback_formatter.formatException(record.exc_info)
        record.exc_text = scrub_text(text, _known)
    if record.stack_info:
        record.stack_info = scrub_text(record.stack_info, _known)


class _RedactingFactory:
    """A log record factory that redacts what `previous` makes (installed once)."""

    briefcast_redacting = True

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            _redact_record(record)
        except Exception:  # logging must never fail because of redaction, nor leak
            record.msg, record.args = "<log record withheld: it could not be redacted>", ()
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return record


def _settings_secrets() -> tuple[str, ...]:
    try:
        from briefcast.settings import get_settings

        settings = get_settings()
    except Exception:  # invalid settings are reported where they are used
        return ()
    values = [
        settings.jwt_secret,
        *settings.jwt_keys.values(),
        settings.instagram_access_token,
        settings.linkedin_access_token,
        settings.openai_api_key,
        settings.credentials_key,
    ]
    return tuple(v.get_secret_value() for v in values if v is not None)


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is when a record comes, as structlog's lines do (like
    the standard library's last-resort handler does for stderr), never to a replaced one."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def _log_format() -> Literal["console", "json"]:
    try:
        from briefcast.settings import get_settings

        return get_settings().log_format
    except Exception:  # invalid settings are reported where they are used
        return "console"


def _processors(log_format: Literal["console", "json"]) -> tuple[list[Processor], Processor]:
    """What every line goes through before it is rendered (redaction last), and the renderer."""
    json = log_format == "json"
    stamper = structlog.processors.TimeStamper(fmt="iso" if json else "%Y-%m-%d %H:%M:%S", utc=json)
    before: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.StackInfoRenderer(),
        structlog.dev.set_exc_info,
        stamper,
        structlog.processors.format_exc_info,
        redact_event_dict,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    return before, renderer


def _formatter(before: list[Processor], renderer: Processor) -> logging.Formatter:
    """Standard-library records as structlog lines: the record's message is the event, the
    logger's name and the context variables are added, the same redaction and renderer."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *before,
            renderer,
        ],
    )


def format_handlers(logger: logging.Logger) -> None:
    """Render what `logger`'s own handlers write as every other line (for handlers someone
    else set up: Celery's, uvicorn's)."""
    if _stdlib_formatter is None:
        return
    for handler in logger.handlers:
        handler.setFormatter(_stdlib_formatter)


def configure_logging() -> None:
    """Set up logging for this process; safe to call more than once."""
    global _known, _stdlib_formatter
    _known = _settings_secrets()
    before, renderer = _processors(_log_format())
    structlog.configure(
        processors=[*before, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        logger_factory=structlog.PrintLoggerFactory(),  # stdout; `briefcast dev` keeps a file
        cache_logger_on_first_use=False,
    )
    _stdlib_formatter = _formatter(before, renderer)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.name == ROOT_HANDLER_NAME), None)
    if handler is None:
        handler = _StdoutHandler()
        handler.name = ROOT_HANDLER_NAME
        root.addHandler(handler)
    handler.setFormatter(_stdlib_formatter)
    for name in _OWN_HANDLER_LOGGERS:
        format_handlers(logging.getLogger(name))
    if not getattr(logging.getLogRecordFactory(), "briefcast_redacting", False):
        logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))
    # At INFO httpx logs every platform and model request (tens per brief) with its full URL.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
