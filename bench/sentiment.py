"""Benchmark the copy gate's sentiment score against human ratings.

Usage: .venv/bin/python -m bench.sentiment [PATH_TO_TSV]

The default data is bench/data/sentiment/tweets_ground_truth.tsv (columns id, mean_rating, text;
ratings on the -4..+4 scale; its README gives the source, licence and reference figures).

Prints Pearson r between `combined` and `mean_rating` (plus stock VADER on the raw text, the
gate's VADER and TextBlob alone and their plain mean as reference lines), and the three-class
agreement at the gate's thresholds with a confusion matrix. Human classes: a mean rating is
neutral when |rating| < HUMAN_NEUTRAL_BAND, i.e. when it rounds to 0, the scale's "neutral"
point; raters answered in whole steps, so anything nearer to +-1 than to 0 counts as a (weak)
opinion.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from briefcast.pipeline.check.sentiment import (  # noqa: E402
    NEGATIVE_BELOW,
    POSITIVE_ABOVE,
    classify,
    score,
)

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "sentiment" / "tweets_ground_truth.tsv"
HUMAN_NEUTRAL_BAND = 0.5
CLASSES = (-1, 0, 1)
NAMES = {-1: "negative", 0: "neutral", 1: "positive"}


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    if n != len(ys) or n < 2:
        raise ValueError("need two equally long sequences of at least 2 values")
    mx = math.fsum(xs) / n
    my = math.fsum(ys) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return float("nan")
    return sxy / math.sqrt(sxx * syy)


def human_class(rating: float) -> int:
    if rating <= -HUMAN_NEUTRAL_BAND:
        return -1
    if rating >= HUMAN_NEUTRAL_BAND:
        return 1
    return 0


def load(path: Path) -> list[tuple[float, str]]:
    rows: list[tuple[float, str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("\t", 2)
            if len(parts) != 3:
                raise ValueError(f"{path}:{number}: expected 3 tab-separated columns")
            rows.append((float(parts[1]), parts[2]))
    return rows


def main(argv: Sequence[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_DATA
    rows = load(path)
    total = len(rows)
    print(f"data: {path} ({total} rows)")
    ratings: list[float] = []
    combined: list[float] = []
    vader: list[float] = []
    blob: list[float] = []
    stock_vader: list[float] = []
    stock = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    step = max(1, total // 4)
    for i, (rating, text) in enumerate(rows, 1):
        result = score(text)
        ratings.append(rating)
        combined.append(result.combined)
        vader.append(result.vader)
        blob.append(result.textblob)
        stock_vader.append(stock.polarity_scores(text)["compound"])
        if i % step == 0 and i < total:
            elapsed = time.perf_counter() - started
            print(f"  ... {i}/{total} scored ({elapsed:.1f} s)", flush=True)
    elapsed = time.perf_counter() - started

    mean_of_two = [(v + b) / 2 for v, b in zip(vader, blob, strict=True)]
    print()
    print("Pearson r with mean_rating")
    print(f"  gate combined         {pearson(combined, ratings):.4f}")
    print(f"  ref: stock VADER      {pearson(stock_vader, ratings):.4f}  (library as shipped)")
    print(f"  ref: gate's VADER     {pearson(vader, ratings):.4f}  (text and lexicon as read)")
    print(f"  ref: TextBlob         {pearson(blob, ratings):.4f}")
    print(f"  ref: mean of the two  {pearson(mean_of_two, ratings):.4f}")

    matrix = {(h, g): 0 for h in CLASSES for g in CLASSES}
    for rating, value in zip(ratings, combined, strict=True):
        matrix[(human_class(rating), classify(value))] += 1
    agree = sum(matrix[(c, c)] for c in CLASSES)
    print()
    print(
        f"Three-class agreement: {agree}/{total} = {agree / total:.1%}  "
        f"(gate: negative < {NEGATIVE_BELOW:+.2f} <= neutral <= {POSITIVE_ABOVE:+.2f} < positive;"
        f" human: |mean_rating| < {HUMAN_NEUTRAL_BAND} is neutral)"
    )
    corner = "human \\ gate"
    print(f"  {corner:>14}" + "".join(f"{NAMES[g]:>10}" for g in CLASSES) + "     total")
    for h in CLASSES:
        cells = "".join(f"{matrix[(h, g)]:>10}" for g in CLASSES)
        print(f"  {NAMES[h]:>14}{cells}{sum(matrix[(h, g)] for g in CLASSES):>10}")
    print()
    print(f"rows: {total}   runtime: {elapsed:.2f} s   ({elapsed / total * 1e3:.3f} ms per text)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
