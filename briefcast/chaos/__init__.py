"""Chaos drill: does every brief end published or failed, exactly once on each platform?

`python -m briefcast.chaos --briefs 200` (`make chaos`) runs the whole stack on its own
embedded services, makes the sandboxes fail publish calls at random (500s, throttles, and
commits whose answer is lost), SIGKILLs the I/O worker every few seconds, restarts Redis once,
creates a few campaigns through the API whose occurrences fall during the drill and SIGKILLs
beat between them (starting it again a tick later), then audits PostgreSQL against what the
platforms hold (see `audit`) and each campaign occurrence against its schedule (`campaigns`).
"""

from briefcast.chaos.audit import Audit, audit
from briefcast.chaos.runner import ChaosConfig, ChaosReport, run_chaos

__all__ = ["Audit", "ChaosConfig", "ChaosReport", "audit", "run_chaos"]
