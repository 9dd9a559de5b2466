"""A short `make fuzz`: schemathesis, every check, on the live test API and database."""

from __future__ import annotations

import pytest

from tests.fuzz.__main__ import run_schemathesis
from tests.live import Live

pytestmark = [pytest.mark.integration, pytest.mark.slow]


# Some 5,500 cases (the coverage phase generates most of them) take 220-310 s on a busy
# two-core machine: more than the suite's 300 s default for one test.
@pytest.mark.timeout(900)
def test_the_api_passes_every_schemathesis_check_on_a_short_run(live: Live, org_token: str) -> None:
    result = run_schemathesis(live.api_url, org_token, max_examples=5, seed=7, workers=1)
    assert result.returncode == 0, result.output[-6000:]
    assert result.cases >= 100  # every operation was exercised, not just reached
