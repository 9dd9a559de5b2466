"""Benchmark card rendering: every template x format, single-threaded.

Usage: .venv/bin/python -m bench.render [--runs N]

Prints median and p95 render time (compose + JPEG encode) and output bytes per case. The photo
template gets a deterministic 2000x1500 synthetic photo (Wand's liquid rescale runs where the
aspect ratio calls for it). Targets for 1080x1350: median <= 40 ms, p95 <= 80 ms.
"""

from __future__ import annotations

import os

# One thread everywhere, set before OpenCV, OpenMP or ImageMagick load.
for _var in ("OMP_NUM_THREADS", "MAGICK_THREAD_LIMIT", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402

from bench._support import percentile  # noqa: E402
from briefcast.gallery import synthetic_photo  # noqa: E402
from briefcast.pipeline.render.kit import FORMATS, TEMPLATES, BrandKit, CardContent  # noqa: E402
from briefcast.pipeline.render.templates import render_card  # noqa: E402

CONTENT = CardContent(
    headline="Our autumn sneaker drop is here: made from 80% recycled ocean plastic",
    quote="We wanted a shoe you can run in all day and feel good about all year.",
    attribution="\u2014 Jane Doe, head of design",
)
KIT = BrandKit(primary_color="#2E7D32", secondary_color="#1B5E20", grade="warm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    photo = synthetic_photo(2000, 1500, seed=1)
    print(f"render bench: {args.runs} runs per case, 1 thread, photo 2000x1500", flush=True)
    failed = False
    for template in TEMPLATES:
        for fmt in FORMATS.values():
            print(f"  {template} {fmt.name}: warming up...", flush=True)
            result = render_card(template, fmt, CONTENT, KIT, photo)
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                result = render_card(template, fmt, CONTENT, KIT, photo)
                times.append(time.perf_counter() - start)
            median, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
            failed |= fmt.name == "instagram_portrait" and (median > 40 or p95 > 80)
            wand = next((e for e in result.effects if e.startswith("wand:")), "-")
            print(
                f"{template:8} {fmt.name:18} {fmt.width}x{fmt.height}  median {median:6.2f} ms"
                f"  p95 {p95:6.2f} ms  {len(result.data):>8} bytes  {wand}",
                flush=True,
            )
    print("targets (1080x1350: median <= 40 ms, p95 <= 80 ms):", "MISSED" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
