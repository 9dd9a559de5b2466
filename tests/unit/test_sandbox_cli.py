"""`python -m briefcast.sandbox --serve`: which sandboxes one process runs."""

from __future__ import annotations

import pytest

from briefcast.sandbox.__main__ import main


@pytest.mark.parametrize("serve", ["tiktok", "instagram,tiktok", ","])
def test_serve_rejects_anything_but_the_three_sandboxes(
    serve: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--serve", serve])
    assert exited.value.code == 2
    assert "--serve takes instagram, linkedin and/or openai" in capsys.readouterr().err
