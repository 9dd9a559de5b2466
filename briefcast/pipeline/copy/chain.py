"""The fallback chain: primary model → fallback model → offline copywriter.

Each model that fails is recorded with its reason, so the run shows who wrote the copy and
why an earlier model was passed over. A fatal error (spent quota, rejected key) skips the
rest of the remote models: they share the account that failed.
"""

from __future__ import annotations

from dataclasses import replace

from briefcast.pipeline.copy.model import (
    CopyBrief,
    CopyModel,
    CopyModelError,
    CopyResult,
    ModelCall,
)
from briefcast.redaction import scrub_text


class FallbackChain:
    name = "chain"

    def __init__(self, models: list[CopyModel]):
        if not models:
            raise ValueError("a chain needs at least one model")
        self.models = models

    def write(self, brief: CopyBrief) -> CopyResult:
        reasons: list[str] = []
        calls: list[ModelCall] = []
        index = 0
        while index < len(self.models):
            model = self.models[index]
            try:
                result = model.write(brief)
            except CopyModelError as exc:
                reasons.append(scrub_text(f"{model.name} failed: {exc}"))  # shown by the API
                calls += exc.calls
                # Fatal: jump to the last model (the offline copywriter), if not already there.
                index = (
                    len(self.models) - 1
                    if exc.fatal and index < len(self.models) - 1
                    else index + 1
                )
                continue
            return replace(
                result,
                calls=calls + result.calls,
                fallback_reason="; ".join(reasons) or None,
            )
        raise CopyModelError("every copy model failed: " + "; ".join(reasons), calls=calls)
