"""`python -m briefcast.chaos`: run the drill, print the summary, exit 0 only when it passes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from briefcast.chaos.runner import ChaosConfig, run_chaos


def _say(message: str) -> None:
    print(f"[chaos] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(prog="python -m briefcast.chaos", description=__doc__)
    parser.add_argument("--briefs", type=int, default=defaults.briefs)
    parser.add_argument(
        "--duration-limit",
        type=float,
        default=defaults.duration_limit_s,
        help="seconds to wait for every run to settle",
    )
    parser.add_argument(
        "--kill-every",
        type=float,
        default=defaults.kill_every_s,
        help="seconds between SIGKILLs of worker-io",
    )
    parser.add_argument("--max-kills", type=int, default=None, help="default: no limit")
    parser.add_argument(
        "--campaigns",
        type=int,
        default=defaults.campaigns,
        help="campaigns created through the API during the drill (0: none, beat left alone)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--data-dir", type=Path, default=defaults.data_dir)
    parser.add_argument(
        "--broker",
        default=defaults.broker_url,
        metavar="AMQP_URL",
        help="RabbitMQ as the broker (its task queues are deleted first; it is not restarted)."
        " Default: the stack's embedded Redis",
    )
    args = parser.parse_args(argv)
    config = ChaosConfig(
        briefs=args.briefs,
        duration_limit_s=args.duration_limit,
        kill_every_s=args.kill_every,
        max_kills=args.max_kills,
        seed=args.seed,
        campaigns=args.campaigns,
        data_dir=args.data_dir,
        broker_url=args.broker,
    )
    try:
        report = run_chaos(config, say=_say)
    except Exception as exc:  # the stack is already stopped; say why it did not finish
        _say(f"failed: {type(exc).__name__}: {exc}")
        return 1
    print("\n" + report.render(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
