"""Logging for every process (API, workers, beat, sandboxes, CLI): one setup, no secrets.

`configure_logging()` is called where each process starts (`create_app`, the Celery app
module, the sandboxes' and the CLI's entry points) and may be called again. It

- configures structlog: the usual console lines, with tracebacks formatted as plain text
  (never rich's, which print every frame's local variables: tokens among them) and, before
  anything is rendered, `redact_event_dict`;
- makes every standard-library log record (uvicorn, Celery, httpx, SQLAlchemy, …) pass the
  same redaction when it is created, whoever configured the handlers;
- keeps httpx and httpcore at WARNING: at INFO they log every request's full URL.

What is redacted is `briefcast.redaction`'s business; secrets configured in settings are
also replaced wherever they appear literally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from briefcast.redaction import redact, scrub_object, scrub_text

_known: tuple[str, ...] = ()
_traceback_formatter = logging.Formatter()


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


def _redacting_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., Any]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            _redact_record(record)
        except Exception:  # logging must never fail because of redaction, nor leak
            record.msg, record.args = "<log record withheld: it could not be redacted>", ()
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return record

    factory.briefcast_redacting = True  # type: ignore[attr-defined]
    return factory


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


def configure_logging() -> None:
    """Set up logging for this process; safe to call more than once."""
    global _known
    _known = _settings_secrets()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.processors.format_exc_info,
            redact_event_dict,
            structlog.dev.ConsoleRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        logger_factory=structlog.PrintLoggerFactory(),  # stdout; `briefcast dev` keeps a file
        cache_logger_on_first_use=False,
    )
    if not getattr(logging.getLogRecordFactory(), "briefcast_redacting", False):
        logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
    # At INFO httpx logs every platform and model request (tens per brief) with its full URL.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
