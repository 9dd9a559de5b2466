"""Optional system libraries and tools: a test that needs one is skipped, with the reason,
where it is missing, and fails instead when `BRIEFCAST_REQUIRE_SYSTEM_LIBS=1` (CI installs
every one and sets it, so a skip there cannot hide an untested path).

Mark such a test `@pytest.mark.system_lib("magickwand")`. Loaded with `-p tests.system_libs`
(pyproject's pytest options), which also reports what is missing once, in the header.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from functools import cache

import pytest

REQUIRE_ENV = "BRIEFCAST_REQUIRE_SYSTEM_LIBS"


def _magickwand() -> str | None:
    from briefcast.pipeline.render.effects import wand_status

    return wand_status()


def _promtool() -> str | None:
    return None if shutil.which("promtool") else "not on the PATH"


# Name -> (what to install, a check returning None when usable or why it is not).
LIBRARIES: dict[str, tuple[str, Callable[[], str | None]]] = {
    "magickwand": (
        "ImageMagick's MagickWand with liblqr (Debian/Ubuntu: libmagickwand-6.q16-6)",
        _magickwand,
    ),
    "promtool": ("Prometheus's promtool (Debian/Ubuntu: prometheus)", _promtool),
}


@cache
def missing(name: str) -> str | None:
    """None when the library is usable here, else a sentence saying what is missing."""
    what, check = LIBRARIES[name]
    reason = check()
    return None if reason is None else f"{what} is not usable here ({reason})"


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "system_lib(name): needs an optional system library (tests/system_libs.py)"
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    absent = [f"{name}: {missing(name)}" for name in LIBRARIES if missing(name)]
    if not absent:
        return ["optional system libraries and tools: all present"]
    then = "their tests FAIL" if required() else "their tests are skipped"
    return [
        f"optional system libraries and tools missing ({then}):",
        *(f"  {line}" for line in absent),
    ]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("system_lib"):
        name = marker.args[0]
        if name not in LIBRARIES:
            raise pytest.UsageError(f"unknown system library {name!r}: see tests/system_libs.py")
        reason = missing(name)
        if reason is None:
            continue
        if required():
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it", pytrace=False)
        pytest.skip(reason)
