"""`python -m briefcast.sandbox`: which sandboxes one process runs, and extra accounts."""

from __future__ import annotations

import argparse

import pytest

from briefcast.sandbox import instagram
from briefcast.sandbox.__main__ import main, parse_accounts


@pytest.mark.parametrize("serve", ["tiktok", "instagram,tiktok", ","])
def test_serve_rejects_anything_but_the_three_sandboxes(
    serve: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--serve", serve])
    assert exited.value.code == 2
    assert "--serve takes instagram, linkedin and/or openai" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--instagram-account", "token-without-account"),
        ("--instagram-account", "t=not-numeric"),
        ("--instagram-account", "=17841400000000777"),
        ("--linkedin-account", "t=urn:li:share:1"),
    ],
)
def test_accounts_must_be_token_equals_account(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([flag, value])
    assert exited.value.code == 2
    assert f"{flag} takes TOKEN=ACCOUNT" in capsys.readouterr().err


def test_accounts_parse_to_token_and_account() -> None:
    parser = argparse.ArgumentParser()
    values = ["IGQVJ-a=17841400000000777", "IGQVJ-b=17841400000000778"]
    assert parse_accounts(parser, "--instagram-account", values, instagram.IG_USER_ID) == {
        "IGQVJ-a": "17841400000000777",
        "IGQVJ-b": "17841400000000778",
    }
