"""The `briefcast` command: dev stack, demo, submit, status, sandbox, migrate, token."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from briefcast.api.auth import Role
from briefcast.logs import configure_logging
from briefcast.stack import Ports, Stack

# No local variables in tracebacks: they would print tokens and the stack's environment.
app = typer.Typer(
    help="Briefcast: content briefs in, published and measured posts out.",
    pretty_exceptions_show_locals=False,
)
DATA_DIR = Path(os.environ.get("DATA_DIR", ".data"))
TOKEN_FILE = DATA_DIR / "token"


@app.callback()
def _setup() -> None:
    configure_logging()


def _token(token: str | None) -> str:
    found = token or os.environ.get("BRIEFCAST_TOKEN")
    if found:
        return found
    if TOKEN_FILE.exists():
        return TOKEN_FILE.read_text().strip()
    raise typer.BadParameter("no token: pass --token, set BRIEFCAST_TOKEN, or run `briefcast dev`")


@app.command()
def dev(
    api_port: int = 8000,
    flower_port: int = 5555,
    instagram_port: int = 8101,
    linkedin_port: int = 8102,
    openai_port: int = 8103,
) -> None:
    """Run the whole stack (embedded services unless configured) until Ctrl-C."""
    from briefcast.client import bootstrap_token
    from briefcast.settings import get_settings

    ports = Ports(api_port, instagram_port, linkedin_port, flower_port, openai_port)
    stack = Stack(DATA_DIR, ports)
    try:
        stack.start()
        os.environ.update(stack.env)
        get_settings.cache_clear()
        TOKEN_FILE.write_text(bootstrap_token("demo"))
        typer.echo(f"API      {stack.api_url}/docs")
        typer.echo(f"Flower   http://127.0.0.1:{flower_port}")
        typer.echo(f"Token    {TOKEN_FILE} (organization 'demo')")
        typer.echo("Ctrl-C stops everything.")
        _wait_for_stop_signal(stack)
    finally:
        typer.echo("stopping …")
        stack.stop()


def _wait_for_stop_signal(stack: Stack) -> None:
    """Until SIGINT, SIGTERM or SIGHUP (the terminal closed), or until a child process dies
    (then say which). A SIGKILL cannot be caught: the next start clears what it left."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        try:
            stack.check_alive()
        except RuntimeError as exc:
            typer.echo(str(exc), err=True)
            return


@app.command()
def demo(
    examples: Path = Path("examples"), data_dir: Path = DATA_DIR / "demo", timeout: float = 180
) -> None:
    """Start the stack, run every example brief end to end, print what came out."""
    from briefcast.demo import run_demo

    raise typer.Exit(run_demo(examples, data_dir, timeout))


@app.command()
def submit(
    file: Path,
    api: str = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(help="bearer token")] = None,
) -> None:
    """Submit a brief (a JSON file) and print the accepted run."""
    from briefcast.client import ApiClient, load_json

    with ApiClient(api, _token(token)) as client:
        accepted = client.submit(load_json(file))
    typer.echo(json.dumps(accepted, indent=2, ensure_ascii=False))


@app.command()
def status(
    run_id: str,
    api: str = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(help="bearer token")] = None,
) -> None:
    """Print a run: status, posts and timeline."""
    from briefcast.client import ApiClient

    with ApiClient(api, _token(token)) as client:
        run = client.run(run_id)
    typer.echo(json.dumps(run, indent=2, ensure_ascii=False))


@app.command()
def report(
    org: Annotated[str, typer.Option(help="the organization's slug")] = "demo",
    days: Annotated[int, typer.Option(min=1, help="the period: this many days up to now")] = 30,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the best-time heatmap")] = "UTC",
    out: Annotated[Path, typer.Option(help="the HTML file to write")] = DATA_DIR / "report.html",
) -> None:
    """Write one self-contained HTML report: charts, posts and a summary (DATABASE_URL)."""
    from zoneinfo import available_timezones

    from briefcast.cli_report import write_report
    from briefcast.reports.report import UnknownOrganization

    if timezone not in available_timezones():
        raise typer.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone")
    try:
        typer.echo(write_report(org, out, days=days, timezone=timezone))
    except UnknownOrganization as exc:
        raise typer.BadParameter(str(exc), param_hint="--org") from exc


campaign_app = typer.Typer(help="Recurring and queued campaigns.")
app.add_typer(campaign_app, name="campaign")


@campaign_app.command("create")
def campaign_create(
    file: Path,
    api: str = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(help="bearer token")] = None,
) -> None:
    """Create a campaign from a JSON file (see examples/campaigns/) and print it."""
    from briefcast.cli_campaigns import describe
    from briefcast.client import ApiClient, load_json

    with ApiClient(api, _token(token)) as client:
        created = client.create_campaign(load_json(file))
    typer.echo(describe(created))


@campaign_app.command("show")
def campaign_show(
    campaign_id: str,
    api: str = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(help="bearer token")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the API's JSON as it is")] = False,
) -> None:
    """A campaign: its next occurrences in local time, past ones with their runs, totals."""
    from briefcast.cli_campaigns import describe
    from briefcast.client import ApiClient

    with ApiClient(api, _token(token)) as client:
        view = client.campaign(campaign_id)
    typer.echo(json.dumps(view, indent=2, ensure_ascii=False) if as_json else describe(view))


@app.command()
def sandbox(instagram_port: int = 8101, linkedin_port: int = 8102, openai_port: int = 8103) -> None:
    """Run the Instagram, LinkedIn and OpenAI sandbox servers."""
    from briefcast.sandbox.__main__ import main

    main(
        [
            *("--instagram-port", str(instagram_port)),
            *("--linkedin-port", str(linkedin_port)),
            *("--openai-port", str(openai_port)),
        ]
    )


@app.command()
def migrate() -> None:
    """Apply database migrations (DATABASE_URL must be set)."""
    from briefcast.migrate import upgrade
    from briefcast.settings import get_settings

    url = get_settings().database_url
    if not url:
        raise typer.BadParameter("set DATABASE_URL")
    upgrade(url)


@app.command()
def token(
    org: str = "demo",
    role: Annotated[Role, typer.Option(help="what the token may do")] = Role.ADMIN,
) -> None:
    """Create the organization if needed and print a bearer token for it."""
    from briefcast.client import bootstrap_token

    typer.echo(bootstrap_token(org, role))


if __name__ == "__main__":
    app()
