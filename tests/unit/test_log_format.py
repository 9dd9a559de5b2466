"""LOG_FORMAT=json: one JSON object per line, with the trail's ids and nothing secret."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
import structlog

from briefcast.logs import configure_logging, format_handlers
from briefcast.redaction import REDACTED
from briefcast.settings import get_settings

TRAIL = {"request_id": "req-123", "run_id": "run-456", "task_id": "task-789"}


@pytest.fixture
def log_format(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], None]]:
    """Configure logging as a process does at start-up with LOG_FORMAT set (or unset)."""

    def use(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("LOG_FORMAT", raising=False)
        else:
            monkeypatch.setenv("LOG_FORMAT", value)
        get_settings.cache_clear()
        configure_logging()

    structlog.contextvars.clear_contextvars()
    yield use
    structlog.contextvars.clear_contextvars()
    monkeypatch.undo()
    get_settings.cache_clear()
    configure_logging()


def test_json_lines_carry_the_bound_ids(
    log_format: Callable[[str | None], None], capsys: pytest.CaptureFixture[str]
) -> None:
    log_format("json")
    structlog.contextvars.bind_contextvars(**TRAIL)
    log = structlog.get_logger("briefcast.test")
    log.info("stage.done", stage="copy", access_token="IGQVJ-secret-0123456789")
    log.warning("stage.retry", error="timeout\nsecond line")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # a newline inside a value stays inside its JSON string
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "stage.done" and second["event"] == "stage.retry"
    for record in (first, second):
        assert {key: record[key] for key in TRAIL} == TRAIL
        assert "timestamp" in record and "level" in record
    assert first["access_token"] == REDACTED  # redaction runs before the renderer
    assert "IGQVJ-secret" not in "\n".join(lines)


def test_standard_library_records_are_json_with_the_ids_too(
    log_format: Callable[[str | None], None],
) -> None:
    log_format("json")
    buffer = io.StringIO()
    logger = logging.getLogger("tests.stdlib_json")
    logger.propagate = False
    logger.setLevel(logging.INFO)  # whatever other tests left the root at
    logger.addHandler(logging.StreamHandler(buffer))
    format_handlers(logger)  # what Celery's handlers get in a worker
    structlog.contextvars.bind_contextvars(**TRAIL)
    try:
        logger.warning("Task %s succeeded", "pipeline.copy.generate")
        try:
            raise RuntimeError("https://example.com/x?access_token=IGQVJ-secret-0123456789")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.handlers.clear()
        logger.propagate = True
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["Task pipeline.copy.generate succeeded", "failed"]
    for record in records:
        assert {key: record[key] for key in TRAIL} == TRAIL
        assert record["logger"] == "tests.stdlib_json"
    assert "RuntimeError" in records[1]["exception"]
    assert "IGQVJ-secret" not in buffer.getvalue()


def test_console_is_the_default_outside_production(
    log_format: Callable[[str | None], None], capsys: pytest.CaptureFixture[str]
) -> None:
    log_format(None)  # unset: ENVIRONMENT (development here) decides
    assert get_settings().log_format == "console"
    structlog.contextvars.bind_contextvars(**TRAIL)
    structlog.get_logger().info("stage.done")
    (line,) = capsys.readouterr().out.splitlines()
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line)  # the console's colours
    assert "stage.done" in plain and "request_id=req-123 run_id=run-456" in plain
