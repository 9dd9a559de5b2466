"""`python -m briefcast.sandbox`: the three sandboxes in one process until Ctrl-C or SIGTERM.

`--serve instagram` (or any comma-separated subset) runs only those, so a load test can give
each sandbox a process of its own. `--instagram-account TOKEN=USER_ID` and
`--linkedin-account TOKEN=AUTHOR_URN` (repeatable) add accounts besides the one `--token` acts
as; `POST /_sandbox/accounts` adds more at run time.
"""

from __future__ import annotations

import argparse
import re
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from briefcast.logs import configure_logging
from briefcast.sandbox import instagram, linkedin, linkedin_rules, openai_api
from briefcast.sandbox.server import serve_in_thread
from briefcast.settings import SANDBOX_TOKEN


def parse_accounts(
    parser: argparse.ArgumentParser, flag: str, values: list[str], shape: re.Pattern[str]
) -> dict[str, str]:
    """`TOKEN=ACCOUNT` pairs as token → account; a malformed one is a usage error."""
    accounts: dict[str, str] = {}
    for value in values:
        token, _, account = value.partition("=")
        if not token or not shape.fullmatch(account):
            parser.error(f"{flag} takes TOKEN=ACCOUNT with ACCOUNT matching {shape.pattern}")
        accounts[token] = account
    return accounts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m briefcast.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (keep it loopback)")
    parser.add_argument("--instagram-port", type=int, default=8101)
    parser.add_argument("--linkedin-port", type=int, default=8102)
    parser.add_argument("--openai-port", type=int, default=8103)
    parser.add_argument("--openai-key", default=openai_api.SANDBOX_API_KEY)
    parser.add_argument("--token", default=SANDBOX_TOKEN, help="the default accounts' token")
    parser.add_argument("--seed", type=int, default=0, help="seed for deterministic ids")
    parser.add_argument(
        "--quota-total", type=int, default=100, help="IG posts per 24 h, per account"
    )
    parser.add_argument(
        "--finish-after-polls", type=int, default=0, help="IG status polls before FINISHED"
    )
    parser.add_argument(
        "--linkedin-versions",
        default=",".join(linkedin.DEFAULT_ACTIVE_VERSIONS),
        help="comma-separated active LinkedIn-Version values",
    )
    parser.add_argument(
        "--serve", default="instagram,linkedin,openai", help="comma-separated sandboxes to run"
    )
    parser.add_argument(
        "--instagram-account",
        action="append",
        default=[],
        metavar="TOKEN=USER_ID",
        help="another Instagram account (repeatable)",
    )
    parser.add_argument(
        "--linkedin-account",
        action="append",
        default=[],
        metavar="TOKEN=AUTHOR_URN",
        help="another LinkedIn account (repeatable)",
    )
    args = parser.parse_args(argv)
    configure_logging()
    ig_accounts = parse_accounts(
        parser, "--instagram-account", args.instagram_account, instagram.IG_USER_ID
    )
    li_accounts = parse_accounts(
        parser, "--linkedin-account", args.linkedin_account, linkedin_rules.AUTHOR
    )
    serve = {name.strip() for name in args.serve.split(",") if name.strip()}
    unknown = serve - {"instagram", "linkedin", "openai"}
    if unknown or not serve:
        parser.error(f"--serve takes instagram, linkedin and/or openai, not {args.serve!r}")

    apps: dict[str, tuple[Callable[[], Any], int, str]] = {
        "instagram": (
            lambda: instagram.create_app(
                access_token=args.token,
                accounts=ig_accounts,
                quota_total=args.quota_total,
                finish_after_polls=args.finish_after_polls,
                seed=args.seed,
            ),
            args.instagram_port,
            "",
        ),
        "linkedin": (
            lambda: linkedin.create_app(
                access_token=args.token,
                accounts=li_accounts,
                active_versions=[v.strip() for v in args.linkedin_versions.split(",") if v.strip()],
                seed=args.seed,
            ),
            args.linkedin_port,
            "",
        ),
        "openai": (
            lambda: openai_api.create_app(api_key=args.openai_key, seed=args.seed),
            args.openai_port,
            "/v1",
        ),
    }
    servers = []
    for name, (make_app, port, suffix) in apps.items():
        if name in serve:
            server = serve_in_thread(make_app(), args.host, port, log_level="info")
            servers.append(server)
            print(f"{name + ' sandbox:':<19}{server.base_url}{suffix}", flush=True)

    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop.wait(0.5):
        if not all(s.thread.is_alive() for s in servers):
            break
    for s in servers:
        s.stop()


if __name__ == "__main__":
    main()
