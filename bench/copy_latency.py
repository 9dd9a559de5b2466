"""Copy latency when the model is slow: 1 s of added latency on every chat completion.

A two-platform brief is written in one completion (both platforms, all variants), so the
copy model should take about one model round trip. Target: under 1.5 s in total (project
standard: under 3 s). Measures the copy chain as the copy stage calls it, cache off.

    .venv/bin/python -m bench.copy_latency [runs]
"""

from __future__ import annotations

import sys
import time

import httpx
from openai import OpenAI

from bench._support import BRIEF, openai_sandbox, summary
from briefcast.pipeline.copy.chain import FallbackChain
from briefcast.pipeline.copy.offline import OfflineCopywriter
from briefcast.pipeline.copy.openai_model import OpenAICopyModel
from briefcast.sandbox.openai_api import SANDBOX_API_KEY

LATENCY_MS = 1000


def main(runs: int = 5) -> int:
    with openai_sandbox() as sandbox:
        httpx.post(
            f"{sandbox.base_url}/_sandbox/faults",
            json={"method": "POST", "path": "/v1/chat/completions$", "latency_ms": LATENCY_MS,
                  "count": 1000},
        ).raise_for_status()  # fmt: skip
        client = OpenAI(api_key=SANDBOX_API_KEY, base_url=f"{sandbox.base_url}/v1", max_retries=0)
        chain = FallbackChain([OpenAICopyModel(client, "gpt-4o-mini"), OfflineCopywriter()])
        timings = []
        for run in range(1, runs + 1):
            brief = BRIEF.model_copy(update={"topic": f"{BRIEF.topic} #{run}"})  # no reuse
            started = time.perf_counter()
            result = chain.write(brief)
            timings.append(time.perf_counter() - started)
            print(f"  run {run}: {timings[-1]:.3f} s, {len(result.calls)} completion(s), "
                  f"{len(result.variants)} variants by {result.source}", flush=True)  # fmt: skip
        print(summary(f"copy for 2 platforms, {LATENCY_MS} ms per completion", timings, 1, "s"))
        print("target (max under 1.5 s):", "met" if max(timings) < 1.5 else "MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
