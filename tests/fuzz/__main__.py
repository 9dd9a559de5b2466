"""`make fuzz`: schemathesis, every check and every phase, against the product as it runs.

Usage: .venv/bin/python -m tests.fuzz [--max-examples 20] [--min-cases 1000] [--seed 1]

Starts the whole stack on its own embedded services (the API on a real PostgreSQL, workers,
sandboxes), mints an admin token, and runs schemathesis's command line on the API's own
OpenAPI document with `--checks all` and the examples, coverage, fuzzing and stateful phases.
It prints schemathesis's report and a last line with the number of cases and failures, and
exits non-zero on any failure or when fewer than --min-cases cases ran. Rate limits are
lifted for the drill (printed): all requests come from one address and one user. A short
version runs in `make test` (`tests/integration/test_fuzz_short.py`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from briefcast.chaos.runner import api_token, isolated_stack
from briefcast.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]
CHECKS = "all"
PHASES = "examples,coverage,fuzzing,stateful"
_CASES = re.compile(r"Test cases:\s*(\d+) generated")
_FAILURES = re.compile(r"(\d+) failures?")


@dataclass(frozen=True)
class FuzzResult:
    returncode: int
    cases: int
    failures: int
    output: str


def _say(message: str) -> None:
    print(f"[fuzz] {message}", flush=True)


def schemathesis_command(
    base_url: str, token: str, max_examples: int, seed: int, workers: int = 2
) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"{base_url}/openapi.json",
        "--checks", CHECKS, "--phases", PHASES,
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", str(max_examples), "--seed", str(seed),
        # A loaded machine (CI runs the suite's workers beside it) may drop a connection:
        # retried, so a run reports the API's answers, not the machine's hiccups.
        "--workers", str(workers), "--request-timeout", "60", "--request-retries", "2",
        "--suppress-health-check", "too_slow",
        "--no-color",
    ]  # fmt: skip


def run_schemathesis(
    base_url: str, token: str, max_examples: int, seed: int, workers: int = 2
) -> FuzzResult:
    command = schemathesis_command(base_url, token, max_examples, seed, workers)
    # From the repository's root, where schemathesis finds its configuration file.
    done = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, check=False, cwd=REPOSITORY
    )
    output = done.stdout + done.stderr
    cases = sum(int(n) for n in _CASES.findall(output))
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-2000:]
    failures = sum(int(n) for n in _FAILURES.findall(summary))
    return FuzzResult(done.returncode, cases, failures, output)


# Every request comes from one address and one user, thousands a minute: limited, most of
# them would be a 429 that tests nothing behind it. (The limits have tests of their own.)
FUZZ_LIMITS = {
    "RATE_LIMIT_IMAGES": "1000000/minute",
    "RATE_LIMIT_PUBLISHING": "1000000/minute",
    "RATE_LIMIT_ANALYTICS": "1000000/minute",
}


def fuzz(data_dir: Path, max_examples: int, seed: int) -> FuzzResult:
    for name, value in FUZZ_LIMITS.items():
        default = Settings.model_fields[name.lower()].default
        _say(
            f"setting changed: {name} = {value} (the product's default is {default}) because "
            "the fuzzer sends thousands of requests a minute as one user from one address"
        )
    with isolated_stack(data_dir, _say, extra_env=FUZZ_LIMITS) as (stack, engine):
        token = api_token(engine, "fuzz")
        _say(f"schemathesis on {stack.api_url}/openapi.json: checks {CHECKS}, phases {PHASES}")
        return run_schemathesis(stack.api_url, token, max_examples, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--min-cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(".data/fuzz"))
    args = parser.parse_args(argv)
    result = fuzz(args.data_dir, args.max_examples, args.seed)
    print(result.output)
    ok = result.returncode == 0 and result.cases >= args.min_cases
    print(
        f"fuzz: {result.cases} cases, {result.failures} failures "
        f"(at least {args.min_cases} cases wanted): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
