"""Cached copy: a repeated request is answered from Redis db 2, costing no model call.

Prints the latency of the cached path (target: under 5 ms) and how many requests reached the
OpenAI sandbox while it ran (must be 0).

    .venv/bin/python -m bench.copy_cache [repeats]
"""

from __future__ import annotations

import sys
import time

import httpx
from openai import OpenAI

from bench._support import BRIEF, openai_sandbox, redis_url, summary
from briefcast.pipeline.copy.cache import RedisCopyCache
from briefcast.pipeline.copy.openai_model import OpenAICopyModel
from briefcast.sandbox.openai_api import SANDBOX_API_KEY


def main(repeats: int = 500) -> int:
    with redis_url() as url, openai_sandbox() as sandbox:
        cache = RedisCopyCache(f"{url}/2", ttl_s=600)
        cache.client.flushdb()
        client = OpenAI(api_key=SANDBOX_API_KEY, base_url=f"{sandbox.base_url}/v1", max_retries=0)
        model = OpenAICopyModel(client, "gpt-4o-mini", cache=cache)
        started = time.perf_counter()
        model.write(BRIEF)  # the one real call; it fills the cache
        print(f"first (uncached) write: {(time.perf_counter() - started) * 1000:.1f} ms")
        before = len(httpx.get(f"{sandbox.base_url}/_sandbox/records").json())
        timings = []
        for done in range(1, repeats + 1):
            started = time.perf_counter()
            result = model.write(BRIEF)
            timings.append(time.perf_counter() - started)
            assert result.calls[0].cached
            if done % 250 == 0:
                print(f"  ... {done}/{repeats} cached writes", flush=True)
        after = len(httpx.get(f"{sandbox.base_url}/_sandbox/records").json())
        print(summary("cached write", timings))
        print(f"requests reaching the sandbox during the cached writes: {after - before}")
        ok = after == before and sorted(timings)[len(timings) // 2] < 0.005
        print("target (median under 5 ms, no requests):", "met" if ok else "MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
